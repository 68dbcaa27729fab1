"""Alembic's environment for the web store: runs on the connection gridplan hands it.

:func:`gridplan.web.schema_tool.upgrade` opens the connection (SQLite or PostgreSQL) and
passes it as ``config.attributes["connection"]``; nothing here reads a URL or a file.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
