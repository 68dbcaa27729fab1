"""Numbers in query strings and forms, parsed without trusting them.

A view never calls ``int()`` on a request value: a word, ``1e3``, a NUL byte or a number beyond
SQLite's 64-bit integers would end as a server error. These helpers answer 400 with a message
in the user's language, or clamp a page number into range (the friendly answer for paging).
"""

from __future__ import annotations

import re

from flask import abort
from flask_babel import gettext as _

#: the largest id SQLite stores (a signed 64-bit integer)
MAX_STORE_ID = 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_int(text: str | None) -> int | None:
    """Return ``text`` as an integer if it is one in ASCII digits (sign allowed), else None.

    Up to 100 characters: Python refuses to convert much longer digit strings at all.
    """
    text = (text or "").strip()
    return int(text) if len(text) <= 100 and _INTEGER.fullmatch(text) else None


def store_id(text: str | None) -> int | None:
    """Return ``text`` as an id the store may hold (1 to 2**63-1), else None."""
    value = parse_int(text)
    return value if value is not None and 1 <= value <= MAX_STORE_ID else None


def page_arg(args, name: str = "page", *, last: int = 1_000_000) -> int:
    """The page number ``name`` of ``args`` (default 1), clamped to 1..``last``.

    A value that is not a whole number (a word, ``1e3``) is a 400 with a message.
    """
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return 1
    value = parse_int(raw)
    if value is None:
        abort(400, description=_("The page number must be a whole number, such as 2."))
    return min(max(value, 1), last)
