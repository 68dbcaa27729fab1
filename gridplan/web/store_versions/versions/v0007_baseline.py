"""Schema version 7, the baseline: the store as gridplan's hand-written migrations left it.

A new store is created here on either back-end. An SQLite store made by an older gridplan
(``meta.schema_version`` 1 to 7, no ``alembic_version``) is first brought to version 7 by
:mod:`gridplan.web.migrations` and then stamped with this revision, so nothing it holds is
touched twice. On PostgreSQL the same tables get PostGIS geometry columns with spatial indexes
and row-level security per station (:mod:`gridplan.web.dialect`).

Revision ID: 0007
"""

from alembic import op

revision = "0007"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the schema-7 store."""
    from gridplan.web.schema_tool import create_baseline

    create_baseline(op.get_bind())


def downgrade() -> None:
    """No way back below the first version Alembic knows."""
    msg = "schema version 7 is the first one: keep the store, or start a new one"
    raise NotImplementedError(msg)
