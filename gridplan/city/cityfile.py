"""The city file: which stations a city has and where each station's files are.

A city file is TOML; paths are relative to the file's folder::

    name = "Portland"                      # shown in progress and summaries
    incidents = "city-incidents.parquet"   # the city's incidents (GeoParquet), for
                                           # `gridplan city hotspots`

    [[stations]]
    id = "S01"                             # the station's id (its config's station.id)
    grid = "s01/grid.geojson"              # its 1+5+N grid
    config = "s01/station.toml"            # its config with the roster
    incidents = "s01/incidents.csv"        # its incident export (its plan's hot spots) ...
    hotspots = "hot/S01.hotspots.gpkg"     # ... or hot spots already made (either one)
    streets = "s01/streets.osm.pbf"        # street extract or line file (optional:
                                           # straight lines without)

The city's ``incidents`` are the imported INCIDENTS table (``time``, ``category`` or
``weight``, point geometry) as GeoParquet, the format dask-geopandas reads in partitions; a
station's ``incidents`` is its raw export, read by :func:`gridplan.import_incidents`.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from gridplan._errors import InputError

_ID = re.compile(r"[A-Za-z0-9_\-]+")
_STATION_KEYS = ("id", "grid", "config", "incidents", "hotspots", "streets")


@dataclasses.dataclass(frozen=True)
class CityStation:
    """One station of a city: its id and its files (absolute paths).

    Attributes
    ----------
    id
        The station id (letters, digits, ``_`` and ``-``); it must be its config's
        ``station.id``.
    grid
        The 1+5+N grid file.
    config
        The station config (``station.toml`` with its roster).
    incidents
        The station's incident export, or ``None``. A plan needs it or ``hotspots``; city hot
        spots need neither (they come from the city's incidents).
    hotspots
        A hot-spot file (``gridplan hotspots --out``), or ``None``: made from ``incidents``.
    streets
        An OpenStreetMap extract or street-line file, or ``None`` (straight lines).
    """

    id: str
    grid: Path
    config: Path
    incidents: Path | None = None
    hotspots: Path | None = None
    streets: Path | None = None


@dataclasses.dataclass(frozen=True)
class City:
    """A city: its stations and its incidents.

    Attributes
    ----------
    name
        The city's name.
    stations
        The stations, in the file's order (ids unique).
    incidents
        The city's incidents (GeoParquet), or ``None``.
    source
        The city file read.
    """

    name: str
    stations: tuple[CityStation, ...]
    incidents: Path | None
    source: Path

    def select(self, ids: list[str] | tuple[str, ...] | None) -> City:
        """Return the city with only the stations ``ids`` (``None``: all of them).

        Raises
        ------
        InputError
            If an id is not a station of the city.
        """
        if not ids:
            return self
        known = {s.id: s for s in self.stations}
        missing = [i for i in ids if i not in known]
        if missing:
            msg = (
                f"{self.source}: no station {', '.join(map(repr, missing))}; the city has "
                f"{', '.join(known)}"
            )
            raise InputError(msg)
        return dataclasses.replace(self, stations=tuple(known[i] for i in dict.fromkeys(ids)))


def _path(
    value: object, *, folder: Path, where: str, key: str, required: bool
) -> tuple[Path | None, str | None]:
    if value is None:
        return None, (f"{where}: {key} is missing; give its file" if required else None)
    if not isinstance(value, str) or not value.strip():
        return None, f"{where}: {key} = {value!r} must be a file path (text)"
    path = (folder / value).resolve()
    if not path.exists():
        return None, f"{where}: {key} = {value!r}: {path} does not exist"
    return path, None


def _station(entry: object, *, folder: Path, where: str) -> tuple[CityStation | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{where}: must be a table (id = ..., grid = ..., config = ...)"]
    problems = [
        f"{where}: unknown key {k!r}; the keys are {', '.join(_STATION_KEYS)}"
        for k in entry
        if k not in _STATION_KEYS
    ]
    sid = entry.get("id")
    if not isinstance(sid, str) or not _ID.fullmatch(sid):
        problems.append(f"{where}: id = {sid!r} must be letters, digits, '_' or '-' (e.g. S01)")
    paths = {}
    for key in _STATION_KEYS[1:]:
        required = key in ("grid", "config")
        paths[key], problem = _path(
            entry.get(key), folder=folder, where=where, key=key, required=required
        )
        problems += [problem] if problem else []
    if problems:
        return None, problems
    return CityStation(id=sid, **paths), []


def load_city(path: str | Path) -> City:
    """Read a city file (see the module docstring).

    Parameters
    ----------
    path
        The city file (TOML).

    Returns
    -------
    City

    Raises
    ------
    InputError
        If the file is missing or not TOML, or a station entry is wrong; every problem is
        listed with its station number and key.

    Examples
    --------
    >>> city = load_city("city.toml")  # doctest: +SKIP
    >>> [s.id for s in city.stations]  # doctest: +SKIP
    ['S01', 'S02']
    """
    path = Path(path).resolve()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"{path}: cannot read the city file ({exc.strerror or exc})"
        raise InputError(msg) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not a TOML city file ({exc}); see `gridplan city --help` for the format"
        raise InputError(msg) from exc
    folder = path.parent
    problems = [
        f"{path}: unknown key {k!r}; the keys are name, incidents, stations"
        for k in doc
        if k not in ("name", "incidents", "stations")
    ]
    incidents, problem = _path(
        doc.get("incidents"), folder=folder, where=str(path), key="incidents", required=False
    )
    problems += [problem] if problem else []
    entries = doc.get("stations")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{path}: no [[stations]]; list each station (id, grid, config, ...)")
        entries = []
    stations = []
    for k, entry in enumerate(entries, start=1):
        sid = entry.get("id") if isinstance(entry, dict) else None
        station, found = _station(entry, folder=folder, where=f"{path} station {k} ({sid})")
        problems += found
        if station is not None:
            stations.append(station)
    seen: set[str] = set()
    for s in stations:
        if s.id in seen:
            problems.append(f"{path}: station id {s.id!r} is listed twice; ids must be unique")
        seen.add(s.id)
    if problems:
        msg = "the city file is invalid:\n- " + "\n- ".join(problems)
        raise InputError(msg)
    name = str(doc.get("name") or path.stem)
    return City(name=name, stations=tuple(stations), incidents=incidents, source=path)
