"""Reading station TOML safely and checking the type of each value, naming its key.

Shared by :mod:`gridplan.station.config` and :mod:`gridplan.station.roster`: a message names
the file, the dotted key (``grid.cell_size_m``, ``roster 'A01': speed_kph``), the value found
and the kind expected, with an example to copy.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridplan._errors import ConfigError

#: Largest station file read (1 MiB): the documented default file is 7 KiB, and a roster of
#: a thousand patrollers about 200 KiB.
MAX_CONFIG_BYTES = 1 << 20

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KIND_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list [...]",
    Mapping: "a table {...}",
}


def describe(value: Any) -> str:
    """Show a value in a message: at most 60 characters of it and its TOML kind."""
    if isinstance(value, bool):
        kind = "true or false"
    elif isinstance(value, int):
        kind = "a whole number"
    else:
        kind = next(
            (name for k, name in _KIND_NAMES.items() if isinstance(value, k)),
            type(value).__name__,
        )
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{shown} ({kind})"


def _too_big(source: str | Path, size: int) -> ConfigError:
    return ConfigError(
        f"{source}: the station file is {size / 2**20:.1f} MiB; a station file is at most "
        f"{MAX_CONFIG_BYTES // 2**20} MiB (the documented defaults are 7 KiB): is it the "
        "right file?"
    )


def typed(value: Any, kind: type, *, where: str, key: str, example: str) -> Any:
    """Return ``value`` as ``kind`` (str, int, float, bool, list or Mapping), or raise.

    Numbers must be finite; a whole number may be written ``5`` or ``5.0``; text may not
    hold control characters (they break GPX, CSV and printed sheets).

    Raises
    ------
    ConfigError
        ``"{where}: {key} = {value} is ..., not ...; write it like {example}"``.
    """
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is int and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value, ok = int(value), True
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
        ok = True
    if ok and kind is float and not math.isfinite(value):
        msg = f"{where}: {key} = {value!r} is not a finite number; write it like {example}"
        raise ConfigError(msg)
    if not ok:
        msg = (
            f"{where}: {key} = {describe(value)} must be {_KIND_NAMES[kind]}; "
            f"write it like {example}"
        )
        raise ConfigError(msg)
    if kind is str and (bad := _CONTROL.search(value)):
        msg = (
            f"{where}: {key} = {describe(value)} contains the control character "
            f"U+{ord(bad.group()):04X}; remove it (write it like {example})"
        )
        raise ConfigError(msg)
    return value


def loads(text: str, *, source: str) -> dict[str, Any]:
    """Parse TOML ``text``; a syntax error names ``source``, the line and the column.

    Raises
    ------
    ConfigError
        On a syntax error, on text longer than :data:`MAX_CONFIG_BYTES` or nested deeper than
        the parser can follow.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise _too_big(source, size)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib writes "Invalid value (at line 3, column 7)"
        msg = (
            f"{source}: not valid TOML: {exc}; correct the line (compare with "
            'default_station.toml; text values need quotes, e.g. name = "东门警务室")'
        )
        raise ConfigError(msg) from None
    except RecursionError:
        msg = (
            f"{source}: not a station file: its lists or tables are nested hundreds of levels "
            "deep; write it like default_station.toml"
        )
        raise ConfigError(msg) from None


def read(path: str | Path) -> str:
    """Return the text of a station file, checked for existence, size and UTF-8.

    Raises
    ------
    ConfigError
        If the file is missing, a folder, larger than :data:`MAX_CONFIG_BYTES` or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        msg = f"{path}: station config file {what}; check the path given to --config"
        raise ConfigError(msg)
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise _too_big(path, size)
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_CONFIG_BYTES + 1).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: the config is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it as UTF-8"
        )
        raise ConfigError(msg) from None
