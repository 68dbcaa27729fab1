"""Limits on what a reader takes from one file: bytes, rows, cells, vertices, time, memory.

A file a station imports is data from outside: an export that went wrong, or a file made to
hurt (a 500 KB ``.csv.gz`` that inflates to gigabytes, a GeoPackage whose layer is a view that
never ends). Every reader checks the limits of a :class:`ReadLimits` and stops with an
:class:`~gridplan.InputError` that names the file, the limit and the setting that raises it,
before the runaway costs the machine its memory.

One setting name serves both front ends: ``IMPORT_MAX_ROWS`` is a web setting (``config.py``
in the instance folder) and, as ``GRIDPLAN_IMPORT_MAX_ROWS``, an environment variable that the
command line and the web server both read (:meth:`ReadLimits.from_mapping`).

The defaults fit a busy urban station's ten years of incidents with room to spare, and keep
a hostile file under about a gigabyte of memory and half a minute. Time and memory cannot be
bounded from inside a C library call; the web UI reads uploads in a job process with
``IMPORT_MEMORY_MB`` as its address-space limit and ``IMPORT_TIME_LIMIT_S`` as its wall time
(:mod:`gridplan.web.jobs`); readers that run a query of the file itself (a GeoPackage view)
bound it with ``max_seconds``.
"""

from __future__ import annotations

import dataclasses
import gzip
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define

#: Setting name of each limit (web setting; ``GRIDPLAN_`` + name as environment variable).
SETTINGS = {
    "max_bytes": "IMPORT_MAX_MB",
    "max_rows": "IMPORT_MAX_ROWS",
    "max_cells": "IMPORT_MAX_CELLS",
    "max_vertices": "IMPORT_MAX_VERTICES",
    "max_seconds": "IMPORT_TIME_LIMIT_S",
    "max_memory_bytes": "IMPORT_MEMORY_MB",
    "max_ratio": "IMPORT_MAX_RATIO",
}
_MB = 1024 * 1024

#: A zip member or gzip stream that inflates more than this many times is a bomb, whatever
#: its size: real CSV, XML and Shapefile data compress 3-20 times (the default of
#: ``ReadLimits.max_ratio``, setting ``IMPORT_MAX_RATIO``).
MAX_RATIO = 200
#: Below this many inflated bytes the ratio is not checked (a tiny file of one repeated value).
RATIO_FLOOR_BYTES = 10 * _MB

_E_LIMIT = define(
    "limits.exceeded",
    N_(
        "%(path)s: %(what)s exceeds the limit of %(limit)s; split the file, or raise the "
        "setting %(setting)s (environment variable GRIDPLAN_%(setting)s) if the file is right"
    ),
)
_E_BOMB = define(
    "limits.bomb",
    N_(
        "%(path)s: %(member)s inflates more than %(ratio)d times (%(size)s from %(packed)s): "
        "that is not an export but a compression bomb; it was not unpacked. If the file is "
        "right (a table of mostly empty cells), raise the setting IMPORT_MAX_RATIO "
        "(environment variable GRIDPLAN_IMPORT_MAX_RATIO)"
    ),
)
_E_BAD_GZIP = define(
    "limits.bad_gzip",
    N_("%(path)s: the .gz file is damaged (%(error)s); compress the export again"),
)
_E_BAD_ZIP = define(
    "limits.bad_zip", N_("%(path)s: not a valid .zip archive (%(error)s); create the zip again")
)
_E_SETTING = define(
    "limits.bad_setting",
    N_("setting %(setting)s = %(value)r: expected a positive number, such as %(example)s"),
)
WHAT = {
    "max_bytes": define("limits.what.bytes", N_("the unpacked size (%(found)s)")),
    "max_rows": define("limits.what.rows", N_("the number of rows (%(found)s)")),
    "max_cells": define("limits.what.cells", N_("the number of cells (%(found)s)")),
    "max_vertices": define("limits.what.vertices", N_("the number of vertices (%(found)s)")),
    "max_seconds": define("limits.what.seconds", N_("the time to read it (%(found)s)")),
    "max_memory_bytes": define("limits.what.memory", N_("the memory to read it (%(found)s)")),
    "max_ratio": define("limits.what.ratio", N_("the compression ratio (%(found)s)")),
}


def _size(n: float) -> str:
    return f"{n / _MB:,.0f} MB" if n >= _MB else f"{n / 1024:,.0f} KB"


def _count(name: str, n: float) -> str:
    if name in ("max_bytes", "max_memory_bytes"):
        return _size(n)
    if name == "max_seconds":
        return f"{n:,.0f} s"
    return f"{int(n):,}"


@dataclasses.dataclass(frozen=True)
class ReadLimits:
    """How much a reader may take from one file.

    Attributes
    ----------
    max_bytes
        Bytes after decompression (``.gz``, the members of a ``.zip`` or ``.xlsx``).
    max_rows
        Rows of a table, features of a vector layer.
    max_cells
        Rows times columns of a table.
    max_vertices
        Coordinates of all geometries of a vector layer.
    max_seconds
        Wall time of a query a reader runs inside the file (a GeoPackage view); the web
        UI's job process is killed after it too.
    max_memory_bytes
        Address space of the web UI's import job process.
    max_ratio
        How many times a ``.gz`` stream or a zip member may inflate (past
        :data:`RATIO_FLOOR_BYTES`): more is a compression bomb.
    """

    max_bytes: int = 1024 * _MB
    max_rows: int = 5_000_000
    max_cells: int = 100_000_000
    max_vertices: int = 5_000_000
    max_seconds: float = 120.0
    max_memory_bytes: int = 4096 * _MB
    max_ratio: int = MAX_RATIO

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InputError(_setting_error(field.name, value))

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], *, prefix: str = "") -> ReadLimits:
        """Limits from settings named as in :data:`SETTINGS` (``MB`` values in megabytes).

        ``ReadLimits.from_mapping(app.config)`` reads the web settings;
        ``ReadLimits.from_mapping(os.environ, prefix="GRIDPLAN_")`` the environment. Missing
        settings keep their default; a value that is not a positive number raises
        :class:`~gridplan.InputError` naming the setting.
        """
        values: dict[str, Any] = {}
        for name, setting in SETTINGS.items():
            raw = settings.get(prefix + setting)
            if raw is None or raw == "":
                continue
            try:
                number = float(raw)
            except (TypeError, ValueError):
                number = 0.0
            if isinstance(raw, bool) or not number > 0:
                raise InputError(_setting_error(name, raw, prefix=prefix))
            if setting.endswith("_MB"):
                number *= _MB
            values[name] = number if name == "max_seconds" else int(number)
        return cls(**values)

    def check(self, name: str, found: float, path: str | Path) -> None:
        """Raise :class:`~gridplan.InputError` when ``found`` exceeds limit ``name``."""
        limit = getattr(self, name)
        if found > limit:
            raise InputError(exceeded(name, found, limit, path))


def exceeded(name: str, found: float, limit: float, path: str | Path) -> Message:
    """Return the message for limit ``name`` (a :class:`ReadLimits` field) exceeded in ``path``."""
    what = WHAT[name](found=_count(name, found))
    return _E_LIMIT(path=str(path), what=what, limit=_count(name, limit), setting=SETTINGS[name])


def _setting_error(name: str, value: Any, *, prefix: str = "") -> Message:
    example = "1000000" if name in ("max_rows", "max_cells", "max_vertices") else "200"
    return _E_SETTING(setting=prefix + SETTINGS[name], value=value, example=example)


def read_gzip(path: Path, limits: ReadLimits) -> bytes:
    """Inflate a ``.gz`` file in chunks, stopping at ``limits.max_bytes`` or a bomb's ratio.

    Raises
    ------
    InputError
        If the file is damaged, inflates beyond ``max_bytes``, or more than
        ``max_ratio`` times (past :data:`RATIO_FLOOR_BYTES`).
    """
    packed = max(path.stat().st_size, 1)
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(4 * _MB):
                total += len(chunk)
                limits.check("max_bytes", total, path)
                _check_ratio(path, path.name, total, packed, limits.max_ratio)
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(_E_BAD_GZIP(path=str(path), error=str(exc))) from exc
    return b"".join(chunks)


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Check the members a ``.zip`` (or ``.xlsx``) declares before anything is unpacked.

    A bomb declares its true sizes or lies about them; a lie makes the unpacking fail with
    a CRC or size error, which the readers report as a damaged file.

    Raises
    ------
    InputError
        If the archive is damaged, declares more than ``max_bytes`` in all, or a member
        inflates more than ``max_ratio`` times.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(_E_BAD_ZIP(path=str(path), error=str(exc))) from exc
    limits.check("max_bytes", sum(i.file_size for i in infos), path)
    for info in infos:
        packed = max(info.compress_size, 1)
        _check_ratio(path, info.filename, info.file_size, packed, limits.max_ratio)


def _check_ratio(path: Path, member: str, size: int, packed: int, ratio: int) -> None:
    if size > RATIO_FLOOR_BYTES and size > ratio * packed:
        msg = _E_BOMB(
            path=str(path), member=member, ratio=ratio, size=_size(size), packed=_size(packed)
        )
        raise InputError(msg)
