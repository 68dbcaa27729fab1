"""Uploads kept between the two steps of an import that needs the officer's decision.

An incident file whose columns are not recognised waits for the column mapping; a grid with
repairable problems waits for the officer to confirm the repairs. Such an upload is kept in
the instance folder under ``uploads/<token>/``, beside a ``meta.json`` naming the user, the
station and the step it waits for, so the officer answers without sending the file again.
The token is random and is the only thing a form sends back: a request finds the upload only
as the same user of the same station and the same step, and never names a path. An upload
is removed once used, and at the latest ``PENDING_UPLOAD_MAX_AGE_S`` seconds after it came.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclasses.dataclass(frozen=True)
class Pending:
    """An upload waiting for the officer: its token, step, file and step options."""

    token: str
    kind: str
    name: str
    path: Path
    options: Mapping[str, Any]

    @property
    def folder(self) -> Path:
        """The upload's own folder (to take out of messages that name the file)."""
        return self.path.parent


def _root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _max_age_s() -> float:
    return float(current_app.config["PENDING_UPLOAD_MAX_AGE_S"])


def purge_expired(now: float | None = None) -> int:
    """Remove uploads older than ``PENDING_UPLOAD_MAX_AGE_S``; return how many."""
    root = _root()
    if not root.is_dir():
        return 0
    limit = (time.time() if now is None else now) - _max_age_s()
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def keep(
    kind: str,
    name: str,
    content: bytes,
    *,
    user_id: int,
    station_id: str,
    options: Mapping[str, Any] | None = None,
) -> Pending:
    """Keep an upload (``name`` already a safe base name) for the next step; return it."""
    purge_expired()
    token = secrets.token_urlsafe(24)
    folder = _root() / token
    folder.mkdir(parents=True, mode=0o700)
    path = folder / name
    path.write_bytes(content)
    meta = {
        "kind": kind,
        "name": name,
        "user_id": int(user_id),
        "station_id": station_id,
        "created": time.time(),
        "options": dict(options or {}),
    }
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return Pending(token, kind, name, path, meta["options"])


def update(pending: Pending, **options: Any) -> Pending:
    """Add ``options`` to a kept upload (e.g. the repairs shown); return it anew."""
    meta_path = pending.folder / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["options"] = {**meta["options"], **options}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    return dataclasses.replace(pending, options=meta["options"])


def find(token: str, kind: str, *, user_id: int, station_id: str) -> Pending | None:
    """Return the kept upload of this user, station and step, or ``None``.

    ``None`` as well for a malformed or unknown token, another user's or station's upload,
    another step's, and an expired one (which is removed).
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    folder = _root() / token
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if time.time() - float(meta.get("created", 0)) > _max_age_s():
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if (meta.get("kind"), meta.get("user_id"), meta.get("station_id")) != (
        kind,
        int(user_id),
        station_id,
    ):
        return None
    path = folder / str(meta["name"])
    if path.parent != folder or not path.is_file():
        return None
    return Pending(token, kind, meta["name"], path, meta.get("options", {}))


def discard(pending: Pending) -> None:
    """Remove a kept upload (after it was imported, rejected or cancelled)."""
    shutil.rmtree(pending.folder, ignore_errors=True)
