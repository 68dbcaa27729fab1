"""Paths written inside data files: followed only within the folder of the file naming them.

A plan file records the street network it was made on, so that ``gridplan plan check`` can
find it again. A path inside a data file is not something the user typed: a plan file from
someone else could name ``/etc/shadow`` or ``../../secret.gpkg``. So such a path is kept
relative to the data file's folder when written (:func:`relative_reference`), and when read
(:func:`resolve_reference`) it must stay inside that folder: absolute paths, ``..`` steps
and symbolic links leading out are refused, with the command-line option that names the
file instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from pathlib import PurePosixPath
from pathlib import PureWindowsPath

from gridplan._errors import InputError


def relative_reference(target: str | Path, data_file: str | Path) -> str | None:
    """Return ``target`` relative to the folder of ``data_file`` (``/``-separated), or None.

    None when ``target`` is not in that folder or below it: a data file never records a
    path leading out of its folder.

    Examples
    --------
    >>> relative_reference("/data/s01/net.gpkg", "/data/s01/day.plan.json")
    'net.gpkg'
    >>> relative_reference("/data/net.gpkg", "/data/s01/day.plan.json") is None
    True
    """
    folder = Path(data_file).resolve().parent
    try:
        rel = Path(target).resolve().relative_to(folder)
    except ValueError:
        return None
    return rel.as_posix()


def _outside_reason(ref: str) -> str | None:
    if any(ord(c) < 32 for c in ref):
        return "contains a control character"
    win = PureWindowsPath(ref)
    if PurePosixPath(ref).is_absolute() or win.drive or win.root:
        return "is an absolute path"
    if ".." in PurePosixPath(ref.replace("\\", "/")).parts:
        return "steps out of the file's folder with '..'"
    return None


def resolve_reference(ref: str, data_file: str | Path, *, key: str, option: str) -> Path:
    """Return the file a data file names by ``ref``, which must lie in the data file's folder.

    Parameters
    ----------
    ref
        The path as written in the data file, relative to its folder.
    data_file
        The file that holds ``ref`` (a ``.plan.json``).
    key
        Where ``ref`` sits in the data file, for the message (``settings.network.path``).
    option
        The command-line option that names the file instead (``--network``).

    Returns
    -------
    Path
        The resolved path, inside the data file's folder (it may not exist).

    Raises
    ------
    InputError
        If ``ref`` is not text, is absolute, steps out with ``..`` or leads out through a
        symbolic link; the message names the file, the key and the option to use instead.

    Examples
    --------
    >>> try:
    ...     resolve_reference("/etc/passwd", "day.plan.json", key="net.path", option="--network")
    ... except InputError as exc:
    ...     print(str(exc)[:52])
    day.plan.json: net.path '/etc/passwd' is an absolute
    """
    folder = Path(data_file).resolve().parent
    reason = _outside_reason(ref) if isinstance(ref, str) else "is not a path (text)"
    resolved = None
    if reason is None:
        resolved = Path(os.path.realpath(folder / ref))
        if not resolved.is_relative_to(folder):
            reason = "leads out of the file's folder through a symbolic link"
    if reason is not None:
        msg = (
            f"{data_file}: {key} {ref!r} {reason}; gridplan follows a path written in a data "
            f"file only to a file in that file's folder ({folder}) or below it. Name the file "
            f"on the command line instead: {option} PATH"
        )
        raise InputError(msg)
    return resolved


__all__ = ["relative_reference", "resolve_reference"]
