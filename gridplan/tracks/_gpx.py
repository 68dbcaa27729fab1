"""Reading GPX 1.0 and 1.1 tracks (``trk``/``trkseg``/``trkpt``) and routes (``rte``/``rtept``).

Phones record tracks as GPX: OsmAnd, Organic Maps, 2bulu (两步路) and 六只脚 (foooooot)
alike. Every point with a time is a fix; a time without a zone is the station's wall-clock
time. The accuracy of a point is read from an ``<extensions>`` element named ``accuracy``,
``acc`` or ``hAcc`` when there is one, else from ``<hdop>``: OsmAnd writes the phone's accuracy
in metres there, other apps a dilution of precision, taken as :data:`HDOP_M` metres per unit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import read_gzip

#: Metres of accuracy per unit of horizontal dilution of precision: a phone's GPS has a
#: user-equivalent range error of about 5 m, so HDOP 1 is about 5 m.
HDOP_M = 5.0

#: Local names (case-folded) of extension elements that hold a point's accuracy in metres.
ACCURACY_TAGS = frozenset({"accuracy", "acc", "hacc", "horizontalaccuracy", "horizontal_accuracy"})

_E_UNREADABLE = define(
    "tracks.gpx_unreadable",
    N_("%(where)s: not a readable GPX file (%(error)s); export the track again as GPX 1.0 or 1.1"),
)
_E_DOCTYPE = define(
    "tracks.gpx_doctype",
    N_(
        "%(where)s: the file declares a DOCTYPE, which GPX never needs and which can make an "
        "XML reader expand entities without end; export the track again from the app"
    ),
)
_E_NO_POINTS = define(
    "tracks.gpx_no_points",
    N_("%(where)s: the GPX file holds no track or route points; export the recorded track"),
)

_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""")


@dataclasses.dataclass(frozen=True)
class GpxPoints:
    """The points of a GPX file in file order: tracks first, then routes.

    ``number`` is the point's position in the file (1-based, over every track, segment and
    route), the "row" a rejected point is reported with; ``utc`` is NaT where the point has no
    time, ``accuracy_m`` NaN where it has no accuracy.
    """

    number: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    utc: np.ndarray
    accuracy_m: np.ndarray
    part: tuple[str, ...]
    track_names: tuple[str, ...]
    creator: str


def _text(data: bytes, where: str) -> str:
    """Decode the file as its XML declaration says (GPX is UTF-8; some apps write GBK)."""
    match = _ENCODING.search(data[:400])
    tried = [match.group(1).decode("ascii")] if match else []
    for encoding in (*tried, "utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    msg = _E_UNREADABLE(where=where, error="the characters are neither UTF-8 nor GBK")
    raise InputError(msg)


def _accuracy(point, is_osmand: bool) -> float:
    for element in point.extensions or ():
        for node in element.iter():
            name = str(node.tag).rsplit("}", 1)[-1].casefold()
            if name in ACCURACY_TAGS and node.text:
                try:
                    return float(node.text)
                except ValueError:
                    continue
    hdop = point.horizontal_dilution
    if hdop is None:
        return np.nan
    return float(hdop) if is_osmand else float(hdop) * HDOP_M


def _utc(times: list[dt.datetime | None], timezone: str) -> np.ndarray:
    """UTC instants of aware times; naive ones are wall-clock times in ``timezone``."""
    out = np.full(len(times), np.datetime64("NaT", "ns"))
    aware = [i for i, t in enumerate(times) if t is not None and t.utcoffset() is not None]
    naive = [i for i, t in enumerate(times) if t is not None and t.utcoffset() is None]
    if aware:
        stamps = [times[i].astimezone(dt.UTC).replace(tzinfo=None) for i in aware]
        out[aware] = pd.DatetimeIndex(stamps).as_unit("ns").to_numpy()
    if naive:
        idx = pd.DatetimeIndex([times[i] for i in naive])
        # as for incident tables: the repeated hour when DST ends is read as its first
        # occurrence, the skipped hour moves forward as a clock would
        local = idx.tz_localize(
            timezone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward"
        )
        out[naive] = local.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()
    return out


def read_gpx(path: Path, *, timezone: str, limits: ReadLimits) -> GpxPoints:
    """Read every track and route point of a GPX (or ``.gpx.gz``) file.

    Raises
    ------
    InputError
        If the file exceeds a limit, is not GPX, declares a DOCTYPE or holds no points.
    """
    import gpxpy  # a dependency of tracks only: the rest of gridplan starts without it
    import gpxpy.gpx

    where = str(path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        data = read_gzip(path, limits)
    else:
        limits.check("max_bytes", path.stat().st_size, path)
        data = path.read_bytes()
    root = data.find(b"<gpx")
    if b"<!DOCTYPE" in data[: root if root >= 0 else len(data)].upper():
        raise InputError(_E_DOCTYPE(where=where))
    try:
        gpx = gpxpy.parse(_text(data, where))
    except gpxpy.gpx.GPXException as exc:
        raise InputError(_E_UNREADABLE(where=where, error=str(exc))) from None
    is_osmand = "osmand" in (gpx.creator or "").casefold()
    points, parts = [], []
    for t, track in enumerate(gpx.tracks, start=1):
        for s, segment in enumerate(track.segments, start=1):
            points += segment.points
            parts += [f"trk {t} trkseg {s}"] * len(segment.points)
    for r, route in enumerate(gpx.routes, start=1):
        points += route.points
        parts += [f"rte {r}"] * len(route.points)
    if not points:
        raise InputError(_E_NO_POINTS(where=where))
    limits.check("max_rows", len(points), path)
    return GpxPoints(
        number=np.arange(1, len(points) + 1, dtype=np.int64),
        lon=np.array([p.longitude for p in points], dtype=float),
        lat=np.array([p.latitude for p in points], dtype=float),
        utc=_utc([p.time for p in points], timezone),
        accuracy_m=np.array([_accuracy(p, is_osmand) for p in points], dtype=float),
        part=tuple(parts),
        track_names=tuple(t.name or "" for t in gpx.tracks),
        creator=gpx.creator or "",
    )
