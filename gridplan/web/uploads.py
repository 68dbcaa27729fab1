"""Uploads kept for the import job that reads them, and between the steps of an import.

Every upload is kept in the instance folder under ``uploads/<token>/``, beside a
``meta.json`` naming the user, the station and the step it waits for; the import job
(:mod:`gridplan.web.importjob`) reads it there, in a job process, and writes what it found
beside it: ``outcome-<job id>.json`` (what the job page shows next) and, in ``meta.json``,
what the next step's form needs (the column preview, the proposed repairs), so that no
request reads the file. An incident file whose columns are not recognised waits for the
column mapping; a grid with repairable problems waits for the officer to confirm the repairs.

The token is random (each upload its own folder, whatever its name) and is the only thing a
form sends back: a request finds the upload only as the same user of the same station and
the same step, and never names a path; the file name is a base name checked to stay in the
folder. The uploaded file is removed once used (stored, rejected or cancelled); the folder,
with the outcomes, at the latest ``PENDING_UPLOAD_MAX_AGE_S`` seconds after the upload came.
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
#: the uploaded file lies in a folder of its own, so that no name (``meta.json``) meets ours
_FILES = "file"


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
        """The upload's own folder: ``uploads/<token>/``."""
        return self.path.parent.parent


def root(instance_path: str | Path) -> Path:
    """The folder of the kept uploads of an instance."""
    return Path(instance_path) / "uploads"


def _root() -> Path:
    return root(current_app.instance_path)


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
        if not folder.is_dir():
            continue
        meta = _meta(folder) or {}
        if float(meta.get("created", folder.stat().st_mtime)) < limit:
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
    (folder / _FILES).mkdir(parents=True, mode=0o700)
    path = folder / _FILES / name
    if path.parent != folder / _FILES:
        msg = f"upload name {name!r} is not a base name"
        raise ValueError(msg)
    path.write_bytes(content)
    meta = {
        "kind": kind,
        "name": name,
        "user_id": int(user_id),
        "station_id": station_id,
        "created": time.time(),
        "options": dict(options or {}),
    }
    _write(folder / "meta.json", meta)
    return Pending(token, kind, name, path, meta["options"])


def _write(path: Path, value: Mapping[str, Any]) -> None:
    """Write JSON whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def update(pending: Pending, **options: Any) -> Pending:
    """Add ``options`` to a kept upload (the column preview, the repairs shown); return it."""
    meta_path = pending.folder / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["options"] = {**meta["options"], **options}
    _write(meta_path, meta)
    return dataclasses.replace(pending, options=meta["options"])


def find(token: str, kind: str, *, user_id: int, station_id: str) -> Pending | None:
    """Return the kept upload of this user, station and step, or ``None``.

    ``None`` as well for a malformed or unknown token, another user's or station's upload,
    another step's, an expired one (which is removed) and one already used.
    """
    meta = _owned_meta(token, user_id=user_id, station_id=station_id)
    if meta is None or meta.get("kind") != kind:
        return None
    return _pending(_root(), token, meta)


def _owned_meta(token: str, *, user_id: int, station_id: str) -> dict | None:
    """The ``meta.json`` of this user's and station's unexpired upload ``token``, or None."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    folder = _root() / token
    meta = _meta(folder)
    if meta is None:
        return None
    if time.time() - float(meta.get("created", 0)) > _max_age_s():
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if (meta.get("user_id"), meta.get("station_id")) != (int(user_id), station_id):
        return None
    return meta


def _meta(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _pending(uploads_root: Path, token: str, meta: Mapping[str, Any]) -> Pending | None:
    folder = uploads_root / token / _FILES
    path = folder / str(meta["name"])
    if path.parent != folder or not path.is_file():
        return None
    return Pending(token, str(meta["kind"]), str(meta["name"]), path, meta.get("options", {}))


def load(uploads_root: str | Path, token: str) -> Pending | None:
    """Return kept upload ``token`` for the job that reads it (no request, no owner check).

    ``None`` when it is gone (cancelled, expired) or the token is malformed.
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    folder = Path(uploads_root) / token
    meta = _meta(folder)
    return None if meta is None else _pending(Path(uploads_root), token, meta)


def save_outcome(pending: Pending, job_id: int, outcome: Mapping[str, Any]) -> None:
    """Write what job ``job_id`` found about ``pending`` (nothing if it was cancelled)."""
    if (pending.folder / "meta.json").is_file():
        _write(pending.folder / f"outcome-{int(job_id)}.json", outcome)


def outcome(token: str, job_id: int, *, user_id: int, station_id: str) -> dict | None:
    """What job ``job_id`` found about this user's upload ``token``, or None (gone)."""
    if _owned_meta(token, user_id=user_id, station_id=station_id) is None:
        return None
    try:
        text = (_root() / token / f"outcome-{int(job_id)}.json").read_text(encoding="utf-8")
    except OSError:
        return None
    return json.loads(text)


def used(pending: Pending) -> None:
    """Remove the uploaded file (imported or rejected); its outcomes stay until they expire."""
    pending.path.unlink(missing_ok=True)


def discard(pending: Pending) -> None:
    """Remove a kept upload and its outcomes (cancelled, or its job failed)."""
    shutil.rmtree(pending.folder, ignore_errors=True)


def discard_token(token: str, *, user_id: int, station_id: str) -> None:
    """Remove this user's kept upload ``token`` with its outcomes, if it is still there."""
    if _owned_meta(token, user_id=user_id, station_id=station_id) is not None:
        shutil.rmtree(_root() / token, ignore_errors=True)
