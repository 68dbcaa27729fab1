"""Security headers, CSRF protection, safe redirects and error pages (login throttling: auth.py).

- Every form carries a CSRF token (Flask-WTF's ``CSRFProtect`` checks every POST).
- Redirects to a target the request names (``next=``, the referrer) go only to a path of this
  site (:func:`safe_next`); URL ids (``<int:...>``) beyond SQLite's integers are a 404.
- The client address is ``REMOTE_ADDR`` unless ``PROXY_COUNT`` says how many reverse proxies
  stand in front (then werkzeug's ``ProxyFix`` takes it from that many ``X-Forwarded-For``
  entries, and a client cannot spoof it with a header of its own).
- A Content-Security-Policy allows scripts only from the app itself or with the page's nonce,
  images only from the app and the configured tile server, and no framing by other sites.
- Errors answer with a page (or JSON for ``Accept: application/json``) that says what was wrong;
  a 500 shows no traceback.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

csrf = CSRFProtect()

_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)", re.IGNORECASE)


def nonce() -> str:
    """Return the request's CSP nonce (one per response)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_nonce(html: str | list[str]) -> str:
    """Give every ``<script>`` element of ``html`` the request's nonce (folium's inline code).

    ``html`` may also be the parts of :func:`script_parts`, which a cached page splits once.
    """
    parts = script_parts(html) if isinstance(html, str) else html
    return f'<script nonce="{nonce()}"'.join(parts)


def script_parts(html: str) -> list[str]:
    """Split ``html`` where its ``<script`` tags without a nonce start (see :func:`add_nonce`)."""
    return _SCRIPT_TAG.split(html)


#: the longest redirect target followed (a longer ``next=`` goes to the default page)
MAX_NEXT_LEN = 2048


def safe_next(target: str | None, default: str) -> str:
    r"""Return ``target`` if it is a path of this site, else ``default`` (no open redirects).

    A target must start with exactly one ``/`` followed by something other than ``/`` or
    ``\``, have no scheme or host, and hold no white space, control or invisible format
    character and no backslash, as given, percent-decoded (twice) or NFKC-normalised (a
    full-width ``／`` is a ``/`` to some browsers): browsers drop tabs and newlines from URLs
    and read ``\`` as ``/``, so ``/<tab>/evil`` and ``/\evil`` would lead off-site.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_LEN:
        return default
    once = unquote(target)
    forms = {target, once, unquote(once)}
    forms |= {unicodedata.normalize("NFKC", f) for f in forms}
    return target if all(_is_local_path(f) for f in forms) else default


def _is_local_path(text: str) -> bool:
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return False
    if any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def back_url(default: str) -> str:
    """The page the browser came from if it is one of this site's, else ``default``."""
    referrer = request.referrer
    if not referrer:
        return default
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return default
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, default)


class StoreIdConverter(IntegerConverter):
    """``<int:...>`` limited to SQLite's integers: a larger id is a 404, not a crash."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def tile_origin(tiles: str | None) -> str | None:
    """Return the scheme://host[:port] of a tile URL template, or ``None`` for presets/none."""
    from gridplan.maps.layers import TILE_PRESETS

    if not tiles or str(tiles).lower() == "none":
        return None
    url = TILE_PRESETS.get(str(tiles).lower(), (tiles, ""))[0]
    parts = urlsplit(url.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return None
    if "{s}" in url:
        return f"{parts.scheme}://*.{parts.netloc.split('.', 1)[1]}"
    return f"{parts.scheme}://{parts.netloc}"


def _csp(app: Flask) -> str:
    img = ["'self'", "data:", "blob:"]
    origin = tile_origin(app.config.get("TILES"))
    if origin:
        img.append(origin)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce()}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(img)}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'self'",
            "frame-ancestors 'self'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, message: str):
    """Answer ``status`` with ``message``: JSON for API clients, else the error page."""
    if _wants_json() or request.path.endswith(".json"):
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    """Install CSRF protection, security headers, the id converter and error pages.

    Call it before the blueprints are registered (their ``<int:...>`` use the converter).
    """
    csrf.init_app(app)
    app.url_map.converters["int"] = StoreIdConverter
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.jinja_env.globals.update(back_url=back_url)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", _csp(app))
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html" or request.endpoint not in (None, "static"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_response(
            400,
            _(
                "The form has expired or did not come from this site (%(reason)s). "
                "Go back, reload the page and try again.",
                reason=exc.description,
            ),
        )

    @app.errorhandler(413)
    def _too_big(_exc):
        limit_mb = app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024
        length = request.content_length or 0
        if length <= app.config["MAX_CONTENT_LENGTH"]:  # a form field, not the upload
            field_kb = (request.max_form_memory_size or 0) / 1000
            return error_response(
                413,
                _(
                    "A field of the form is longer than %(kb).0f KB, more than any field of "
                    "gridplan's forms holds; go back and shorten it.",
                    kb=field_kb,
                ),
            )
        return error_response(
            413,
            _(
                "The file is larger than the %(mb).0f MB upload limit; split it (for example one "
                "year per file) or compress it as .csv.gz.",
                mb=limit_mb,
            ),
        )

    @app.errorhandler(429)
    def _too_many(exc):
        from gridplan.web.auth import parse_limit

        # the description names the login throttle setting that was hit (see auth.THROTTLES)
        key = exc.description if exc.description in app.config else "LOGIN_RATE_LIMIT_PER_ADDRESS"
        wait_min = max(1, round(parse_limit(app.config[key])[1] / 60))
        messages = {
            "LOGIN_RATE_LIMIT": _(
                "Too many failed logins for this user name from this computer. Wait %(min)d "
                "min and try again, or ask your station's admin to reset the password.",
                min=wait_min,
            ),
            "LOGIN_RATE_LIMIT_PER_USER": _(
                "Too many failed logins for this user name. Wait %(min)d min and try again, or "
                "ask your station's admin.",
                min=wait_min,
            ),
            "LOGIN_RATE_LIMIT_PER_ADDRESS": _(
                "Too many failed logins from this address. Wait %(min)d min and try again, or "
                "ask your station's admin.",
                min=wait_min,
            ),
        }
        return error_response(429, messages[key])

    @app.errorhandler(HTTPException)
    def _http(exc):
        messages = {
            403: _("Your role does not allow this. Ask your station's admin."),
            404: _("Not found: the page or item does not exist, or belongs to another station."),
            405: _("This address does not accept that kind of request."),
        }
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or ""))

    @app.errorhandler(Exception)
    def _crash(exc):
        app.logger.exception("unhandled error on %s", request.path)
        return error_response(
            500,
            _(
                "Something went wrong on the server; it has been logged. Try again, and tell "
                "your administrator if it happens again."
            ),
        )
