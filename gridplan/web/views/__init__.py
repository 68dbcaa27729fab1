"""The web UI's pages: one blueprint per area, registered by :func:`register`.

A view parses the request, calls gridplan and the store, and renders a template of
``gridplan/web/templates`` (the route sheets' template is found through the ``sheetviews``
blueprint). What the views share stays in :mod:`gridplan.web`: the store, the login and roles
(``auth``), languages (``i18n``), security headers, jobs and pending uploads.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register every area's blueprint on ``app``."""
    from gridplan.web.views import admin
    from gridplan.web.views import alerts
    from gridplan.web.views import auth
    from gridplan.web.views import bureau
    from gridplan.web.views import compliance
    from gridplan.web.views import downloads
    from gridplan.web.views import gridmap
    from gridplan.web.views import i18n
    from gridplan.web.views import imports
    from gridplan.web.views import overview
    from gridplan.web.views import patrol
    from gridplan.web.views import plans
    from gridplan.web.views import sheetviews
    from gridplan.web.views import targets
    from gridplan.web.views import tracks

    for module in (
        i18n, auth, overview, gridmap, alerts, imports, plans, sheetviews, downloads, admin
    ):  # fmt: skip
        app.register_blueprint(module.bp)
    app.register_blueprint(targets.bp)
    app.register_blueprint(patrol.bp)
    app.register_blueprint(tracks.bp)
    app.register_blueprint(compliance.bp)
    app.register_blueprint(bureau.bp)
