"""Printable route sheets: one A4 page per patroller (or team) and slice, as HTML and PDF.

A team lead prints a sheet before the shift: the station, date, plan version, slice and team;
a map of the route; a table of the stops (order, micro-grid, nearest street, arrival, dwell,
departure, a check box and a ruled cell for notes); the totals and the station's phone number.
A sheet is one page wherever its stops fit beside a readable map (compact rows if need be,
see :func:`sheet_layout`); a longer route prints its rows, then a page that is all map. The
map is scaled to the route, and its numbered stop markers never cover each other. A sheet of
a superseded plan version says so at the top of every page.

:func:`route_sheets` turns a :class:`~gridplan.routing.plan.PatrolPlan` into :class:`RouteSheet`
values (times already formatted in the station timezone, the map already drawn by
:func:`gridplan.sheets.svg.route_map_svg`); :func:`render_sheets_html` renders them with the
template ``sheets/sheets.html`` outside Flask (the web UI renders the same template with its own
Jinja environment and :func:`sheets_context`); :func:`render_pdf` makes the PDF with WeasyPrint.
Everything here works offline: no tiles, fonts or scripts are fetched; the print CSS is inlined, so
a saved HTML file or the PDF needs nothing else.

Nothing here imports Flask.
"""

from __future__ import annotations

import dataclasses
import gettext
import math
import unicodedata
import zoneinfo
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING
from typing import Any

from gridplan._errors import GridplanError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._validate import HOT_CLASSES
from gridplan._validate import class_method
from gridplan.sheets.svg import MAP_FRAME_MM
from gridplan.sheets.svg import MAP_SIDE_MM
from gridplan.sheets.svg import route_aspect
from gridplan.sheets.svg import route_map_svg

if TYPE_CHECKING:
    import geopandas as gpd
    import jinja2

    from gridplan.routing.plan import PatrolPlan
    from gridplan.station.roster import Patroller

#: Printable area of an A4 page (210 x 297 mm less the @page margins of sheets.css).
PAGE_MM = (186.0, 277.0)
#: A one-page sheet keeps its map at least this tall; when the stop table leaves less room
#: (even with compact rows), the table gets the page and the map a page of its own after it.
MIN_MAP_MM = 70.0

TEMPLATE = "sheets/sheets.html"
#: The HTML ``lang`` of each UI language (it also picks the CJK glyph variants in the PDF).
HTML_LANG = {"zh": "zh-CN", "zh_CN": "zh-CN", "zh-CN": "zh-CN", "en": "en"}

_PDF_INSTALL = (
    "pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"
)


@dataclasses.dataclass(frozen=True)
class SheetRow:
    """One stop line of a route sheet.

    Attributes
    ----------
    order
        1-based position on the route.
    micro_id, name, base_id
        Micro-grid code, its name and its base grid.
    street
        Nearest street name ("" when unknown).
    arrival, departure
        ``HH:MM`` in the station timezone.
    dwell_min
        Minutes of presence.
    risk_class
        ``top``, ``high`` or ``other``.
    visit
        Visit number of this micro-grid in the slice (1 = first).
    hot_class
        The stop's hot-spot class when it is a hot spot (one of
        :data:`~gridplan._validate.HOT_CLASSES`, e.g. ``hot_99`` or on a small station
        ``above_99``), else "".
    why
        Why the stop is on the route, as messages to join with "; " in the sheet's language
        (:func:`~gridplan.routing.plan.why_parts`; given on a micro-grid's first visit of the
        route only, to keep the sheet short); printed on a line of its own under the row.
    kind, window, street_end
        A key road section or timed target: ``point`` or ``line`` (``""`` for a micro-grid),
        its window served (``07:30-08:15``) and the street a line's walk ends on.
    alert, alert_until
        Colour of the alert on the micro-grid (``red``, ``yellow``, ``blue``; "" for none)
        and when it ends (``MM-DD HH:MM``, station time).
    flags
        What patrols actually did there, when the plan was made with it
        (:mod:`gridplan.routing.feedback`): its stops missed repeatedly over the recent days,
        a top hot spot that got less presence than planned. Messages to join with "; ",
        given on the micro-grid's first visit of the route; printed on a line of their own.
    """

    order: int
    micro_id: str
    name: str
    base_id: str
    street: str
    arrival: str
    dwell_min: float
    departure: str
    risk_class: str = ""
    visit: int = 1
    hot_class: str = ""
    why: tuple[Message, ...] = ()
    kind: str = ""
    window: str = ""
    street_end: str = ""
    alert: str = ""
    alert_until: str = ""
    flags: tuple[Message, ...] = ()


@dataclasses.dataclass(frozen=True)
class SheetPage:
    """One printed page of a route sheet.

    Attributes
    ----------
    rows
        The stop rows printed on the page (none on a map page).
    map
        Whether the route map is on the page: above the rows, or alone on a map page.
    """

    rows: tuple[SheetRow, ...]
    map: bool


@dataclasses.dataclass(frozen=True)
class SheetLayout:
    """How a route sheet fills A4 pages (see :func:`sheet_layout`).

    Attributes
    ----------
    pages
        The printed pages in order: one page with the map above all the rows wherever they
        fit; else the rows on one or more pages, then a map page.
    density
        ``normal``, or ``compact`` (smaller rows) when that keeps the sheet on one page.
    map_mm
        Width and height of the map.
    """

    pages: tuple[SheetPage, ...]
    density: str
    map_mm: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class RouteSheet:
    """Everything printed on the sheet(s) of one route: header, map, stop rows and totals.

    Attributes
    ----------
    station_name, station_phone
        From the plan and the station config ("" when no phone is configured).
    date
        The plan date, ISO ``YYYY-MM-DD``.
    slice_id, slice_label
        The slice and its label (e.g. ``早间 Morning 06:00-10:00``).
    patroller_id, name, role, mode
        From the roster (role and mode are codes, see :mod:`gridplan.station.roster`).
    members
        People in the team, ``None`` when the roster was not given.
    part
        1, or 2, 3, ... for a route after a break in the same slice.
    start, end
        Leaving and coming back, ``HH:MM`` in the station timezone.
    rows
        One :class:`SheetRow` per stop, in route order.
    total_stops, total_dwell_min, distance_km, duration_min
        Totals of the route.
    map_svg
        The route map, an SVG document (see :func:`route_map_svg`) of ``layout.map_mm``.
    layout
        The pages, row density and map size (see :func:`sheet_layout`).
    version
        The plan's version number for its date, printed beside the date (``None``: not known).
    superseded_by
        The current version of the date when this plan is an earlier one: every page then
        says "Superseded by vN - do not use".
    classes
        How the plan's hot-spot classes were made (:func:`gridplan._validate.class_method`):
        ``gistar``, or ``excess`` on a small station, which the map legend explains in a line.
    forecast, forecast_pai, forecast_pai_prior
        What ranked the stops in this slice (the plan's ``settings["forecast"]``): the forecast
        method's name, or ``hotspot`` for the hot-spot score, and its back-test PAI next to
        the prior-count baseline's ("" when not known). The map legend says so in a line.
    """

    station_name: str
    station_phone: str
    date: str
    slice_id: str
    slice_label: str
    patroller_id: str
    name: str
    role: str
    mode: str
    members: int | None
    part: int
    start: str
    end: str
    rows: tuple[SheetRow, ...]
    total_stops: int
    total_dwell_min: float
    distance_km: float
    duration_min: float
    map_svg: str
    layout: SheetLayout
    version: int | None = None
    superseded_by: int | None = None
    classes: str = "gistar"
    forecast: str = ""
    forecast_pai: str = ""
    forecast_pai_prior: str = ""

    @property
    def pages(self) -> tuple[SheetPage, ...]:
        """The printed pages (see :class:`SheetLayout`)."""
        return self.layout.pages


# Heights of the fixed parts of a page in sheets.css, in mm (measured with WeasyPrint and
# Noto Sans CJK, rounded up): the header with one-line team and slice, the "superseded"
# banner, the map's legend, the table head, the totals, a "continued" line and the footer.
_HEAD_MM, _BANNER_MM, _LEGEND_MM, _THEAD_MM = 30.0, 13.0, 7.5, 9.5
_TOTALS_MM, _CONTINUED_MM, _FOOT_MM, _SLACK_MM = 16.0, 7.0, 11.0, 3.0

# Row geometry of table.stops in sheets.css: text widths, line height (1.15 in the CSS;
# measured rows come out at 1.15 x the font size per line with Noto Sans CJK), and per
# density the least row height, cell padding and borders, and the font sizes (pt).
_PT_MM = 25.4 / 72
_GRID_TEXT_MM = 44.0 - 2.4
_STREET_TEXT_MM = 38.0 - 2.4
_LINE = 1.18
_TOP_BADGE_MM = 0.5  # the boxed "Top" mark makes its line a little taller
# the hot-spot class mark after the code (7.5 pt in sheets.css; its longer language is
# measured) and the legend's line saying what "hot" means on a small station
_HOT_MARKS, _HOT_MARK_PT, _CLASSES_NOTE_MM = ("Hot 99%", "热点99%"), 7.5, 4.5
_DENSITY = {
    # name: (least row height, padding and borders, code, name and street pt)
    "normal": (8.0, 1.9, 8.0, 8.0, 8.5),
    "compact": (6.4, 1.3, 7.0, 7.0, 7.5),
}
_HEAD_PT, _TEAM_TEXT_MM, _SLICE_TEXT_MM = 11.0, 186.0 - 19.0, 186.0 - 19.0 - 40.0 - 19.0
# the title (15 pt, line height 1.3) beside the page number; the English title is the longer
_TITLE_PT, _TITLE_TEXT_MM, _TITLE = 15.0, 186.0 - 24.0, " · Patrol route sheet"
# the "why" line under a stop row (tr.why in sheets.css): font size, text width (all columns
# but the first) and its padding and border; estimated on the English text, the longer
_WHY_PT, _WHY_TEXT_MM, _WHY_PAD_MM = 6.0, 186.0 - 9.0 - 2.4, 1.0


def _target_fields(p, tz) -> dict[str, str]:
    """Return the sheet fields of a target stop (none for a micro-grid)."""
    if not p.target_id or p.window_start is None:
        return {}
    window = f"{_hhmm(p.window_start, tz)}-{_hhmm(p.window_end, tz)}"
    return {"kind": p.kind, "window": window, "street_end": p.end_street or p.street}


def _ems(text: str) -> float:
    """Width of ``text`` in ems, erring long (CJK 1 em, other characters 0.62 em)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text)


def _text_lines(text: str, size_pt: float, width_mm: float, *, extra_pt_em: float = 0.0) -> int:
    """Lines ``text`` takes in a column, erring long.

    ``extra_pt_em`` adds an inline mark in another size: its ems times its size in pt.
    """
    if not text:
        return 0
    # wrapping at word ends wastes part of each line
    width = _ems(text) * size_pt + extra_pt_em
    return max(1, math.ceil(width * _PT_MM * 1.1 / width_mm))


def _row_height_mm(row: SheetRow, density: str = "normal") -> float:
    """Estimated printed height of a stop row (see sheets.css)."""
    least, pad, code_pt, name_pt, street_pt = _DENSITY[density]
    top = row.risk_class == "top"
    code = row.micro_id + (" Top" if top else "")
    if row.kind:  # a target's line: "walk 中山路 from A to B, 07:30-08:15"
        code = f"walk {row.name} from {row.street} to {row.street_end}, {row.window}"
    mark = max(map(_ems, _HOT_MARKS)) * _HOT_MARK_PT if row.hot_class else 0.0
    lines = _text_lines(code, code_pt, _GRID_TEXT_MM, extra_pt_em=mark)
    grid_mm = lines * code_pt * _LINE * _PT_MM
    grid_mm += _TOP_BADGE_MM if top else 0.0
    if row.alert:  # "Yellow alert until 06-10 20:00" under the code
        alert = f"{row.alert} alert until {row.alert_until}"
        grid_mm += _text_lines(alert, name_pt, _GRID_TEXT_MM) * name_pt * _LINE * _PT_MM
    if row.name and row.name != row.micro_id and not row.kind:
        grid_mm += _text_lines(row.name, name_pt, _GRID_TEXT_MM) * name_pt * _LINE * _PT_MM
    street_mm = _text_lines(row.street, street_pt, _STREET_TEXT_MM) * street_pt * _LINE * _PT_MM
    return max(least, max(grid_mm, street_mm) + pad) + _why_mm(row) + _flags_mm(row)


def _why_mm(row: SheetRow) -> float:
    """Height of the row's "why" line (0 without one)."""
    if not row.why:
        return 0.0
    text = "Why: " + "; ".join(str(m) for m in row.why)
    return _text_lines(text, _WHY_PT, _WHY_TEXT_MM) * _WHY_PT * _LINE * _PT_MM + _WHY_PAD_MM


def _flags_mm(row: SheetRow) -> float:
    """Height of the row's line on what patrols actually did there (0 without one).

    Bold text: estimated a tenth wider than the "why" line's.
    """
    if not row.flags:
        return 0.0
    text = "From recent patrols: " + "; ".join(str(m) for m in row.flags)
    lines = _text_lines(text, _WHY_PT * 1.1, _WHY_TEXT_MM)
    return lines * _WHY_PT * _LINE * _PT_MM + _WHY_PAD_MM


#: A stop's micro-grid whose planned stops were missed repeatedly (printed under the stop).
SHEET_MISSED = define(
    "sheets.missed",
    N_(
        "planned stops here were missed %(n)d times in the last %(days)d days; if it cannot "
        "be reached, write why in the notes"
    ),
)
#: A stop's top hot spot that got less presence than planned over the recent days.
SHEET_UNDERSERVED = define(
    "sheets.underserved",
    N_("got %(actual).0f of %(planned).0f planned minutes in the last %(days)d days"),
)


def feedback_flags(plan: PatrolPlan) -> dict[str, tuple[Message, ...]]:
    """Micro-grid -> what a route sheet says of it from the plan's feedback from patrols.

    The micro-grids flagged as missed (:meth:`~gridplan.routing.plan.PatrolPlan.missed_flags`)
    and the under-served ones whose value was raised where they are top hot spots (the
    sheet prints that note on top stops only); empty for a plan made without feedback.
    """
    from gridplan.routing.feedback import boost_factors

    presence = plan.feedback
    if presence is None:
        return {}
    out: dict[str, list[Message]] = {}
    for flag in plan.missed_flags():
        out.setdefault(flag.micro_id, []).append(SHEET_MISSED(n=flag.missed, days=flag.days))
    for mid in boost_factors(presence, plan.policy):
        note = SHEET_UNDERSERVED(
            actual=presence.recent_actual_min.get(mid, 0.0),
            planned=presence.recent_planned_min[mid],
            days=presence.days,
        )
        out.setdefault(mid, []).append(note)
    return {mid: tuple(notes) for mid, notes in out.items()}


def _row_flags(p, flags: Mapping[str, tuple[Message, ...]]) -> tuple[Message, ...]:
    """Return the feedback notes of stop ``p``: missed ones always, under-served on top stops."""
    notes = flags.get(p.micro_id or "", ())
    if p.risk_class == "top":
        return notes
    return tuple(n for n in notes if n.id != SHEET_UNDERSERVED.id)


def _header_mm(station: str, team: str, slice_label: str, *, banner: bool) -> float:
    """Height of a page's header: long station names, team names and slice labels wrap."""
    title = _text_lines(station + _TITLE, _TITLE_PT, _TITLE_TEXT_MM) - 1
    extra = _text_lines(team, _HEAD_PT, _TEAM_TEXT_MM) - 1
    extra += _text_lines(slice_label, _HEAD_PT, _SLICE_TEXT_MM) - 1
    return (
        _HEAD_MM
        + title * _TITLE_PT * 1.3 * _PT_MM
        + extra * _HEAD_PT * _LINE * _PT_MM
        + (_BANNER_MM if banner else 0.0)
    )


def sheet_layout(
    rows: Sequence[SheetRow],
    *,
    header_mm: float = _HEAD_MM,
    map_aspect: float = 1.0,
    legend_mm: float = _LEGEND_MM,
) -> SheetLayout:
    """Lay a route sheet out on A4 pages.

    One page with the map above the stop table wherever the rows leave the map at least
    :data:`MIN_MAP_MM`, with normal rows or else compact ones; the map is as tall as the
    route's shape needs at the page width, up to the room left. A longer route prints its
    rows on one or more pages and the map on a page of its own after them, as large as the
    page allows.

    Parameters
    ----------
    rows
        The stop rows, whose printed heights are estimated from their text.
    header_mm
        Height of each page's header (see sheets.css).
    map_aspect
        Height / width of the route's extent (its map then fills the width).
    legend_mm
        Height of the map's legend (taller with the line on a small station's classes).

    Returns
    -------
    SheetLayout
    """
    width, height = PAGE_MM
    fixed = header_mm + _THEAD_MM + _TOTALS_MM + _FOOT_MM + _SLACK_MM
    for density in _DENSITY:
        room = height - fixed - legend_mm - sum(_row_height_mm(r, density) for r in rows)
        if room >= MIN_MAP_MM:
            needed = MAP_FRAME_MM[0] + MAP_FRAME_MM[1] + map_aspect * (width - 2 * MAP_SIDE_MM)
            map_h = round(min(room, max(MIN_MAP_MM, needed)), 1)
            return SheetLayout((SheetPage(tuple(rows), True),), density, (width, map_h))
    # rows on pages of their own: normal rows, unless compact ones need fewer pages
    paged = {d: _paginate(rows, height - fixed, d) for d in _DENSITY}
    density = min(_DENSITY, key=lambda d: len(paged[d]))
    map_h = round(height - header_mm - legend_mm - _FOOT_MM - _SLACK_MM, 1)
    return SheetLayout((*paged[density], SheetPage((), True)), density, (width, map_h))


def _paginate(rows: Sequence[SheetRow], budget_mm: float, density: str) -> list[SheetPage]:
    """Fill pages of ``budget_mm`` with rows of ``density`` (later pages say "continued")."""
    pages: list[SheetPage] = []
    page: list[SheetRow] = []
    used = 0.0
    for row in rows:
        budget = budget_mm - (_CONTINUED_MM if pages else 0.0)
        h = _row_height_mm(row, density)
        if page and used + h > budget:
            pages.append(SheetPage(tuple(page), False))
            page, used = [], 0.0
        page.append(row)
        used += h
    pages.append(SheetPage(tuple(page), False))
    return pages


def _legend_mm(plan: PatrolPlan, classes: str) -> float:
    """Height of the map legend: its notes on small-station classes and the forecast."""
    legend_mm = _LEGEND_MM + (_CLASSES_NOTE_MM if classes == "excess" else 0.0)
    if plan.settings.get("forecast"):  # a line, two on a narrow map, saying what ranked stops
        legend_mm += 2 * _CLASSES_NOTE_MM
    return legend_mm


def _forecast_fields(plan: PatrolPlan, slice_id: str) -> dict[str, str]:
    """Return what ranked the stops of a slice, from the plan's ``settings["forecast"]``."""
    forecast = plan.settings.get("forecast") or {}
    if not forecast:
        return {}
    names = forecast.get("names") or {}
    if not names:
        return {"forecast": "hotspot"}
    figures = (forecast.get("figures") or {}).get(slice_id) or {}
    pai, prior = figures.get("pai"), figures.get("pai_prior")
    return {
        "forecast": str(names.get(slice_id, names.get("all", ""))),
        "forecast_pai": f"{pai:.2f}" if pai is not None else "",
        "forecast_pai_prior": f"{prior:.2f}" if prior is not None else "",
    }


def _alert_fields(p, plan: PatrolPlan, tz: zoneinfo.ZoneInfo) -> dict[str, str]:
    """Return a sheet row's alert colour and end for stop ``p`` (none when not under one)."""
    if not p.alert:
        return {}
    return {"alert": p.alert, "alert_until": _alert_ends(plan, tz).get(p.alert_id or "", "")}


def _alert_ends(plan: PatrolPlan, tz: zoneinfo.ZoneInfo) -> dict[str, str]:
    """Alert id -> when it ends (``MM-DD HH:MM``, station time), of the plan's alerts."""
    import datetime as dt

    out = {}
    for a in plan.settings.get("alerts") or ():
        end = min(
            dt.datetime.fromisoformat(t) for t in (a["ends"], a.get("ended_at")) if t is not None
        )
        out[str(a["id"])] = end.astimezone(tz).strftime("%m-%d %H:%M")
    return out


def _hhmm(t, tz: zoneinfo.ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%H:%M")


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


_UNKNOWN = {
    "slice": define(
        "sheets.unknown_slice",
        N_("unknown slice %(bad)s; this plan has %(valid)s; pick one of those slice ids"),
    ),
    "patroller": define(
        "sheets.unknown_patroller",
        N_("unknown patroller %(bad)s; this plan has %(valid)s; pick one of those patroller ids"),
    ),
}


def _unknown(what: str, bad: Iterable[str], valid: Iterable[str]) -> InputError:
    valid = list(valid)
    shown = ", ".join(repr(b) for b in bad)
    return InputError(_UNKNOWN[what](bad=shown, valid=", ".join(valid) if valid else "none"))


def route_sheets(
    plan: PatrolPlan,
    *,
    station_phone: str = "",
    slice_labels: Mapping[str, str] | None = None,
    patroller: str | None = None,
    slices: Sequence[str] | None = None,
    roster: Sequence[Patroller] = (),
    grid: gpd.GeoDataFrame | None = None,
    version: int | None = None,
    superseded_by: int | None = None,
) -> list[RouteSheet]:
    """Return one :class:`RouteSheet` per deployed route of ``plan``.

    Parameters
    ----------
    plan
        The patrol plan (made by :func:`~gridplan.routing.planner.plan_patrols` or read with
        :func:`~gridplan.io.planfile.load_plan`).
    station_phone
        Printed on every sheet (the station config's ``station.phone``).
    slice_labels
        Slice id -> label to print instead of the plan's (e.g. a label in the UI language).
    patroller
        Only this patroller's (or team's) sheets.
    slices
        Only these slices.
    roster
        The station roster, for the number of members of each team (left out when empty).
    grid
        The 1+5+N grid; when given, the maps outline the micro-grids and base grids around
        the route and shade those it visits.
    version
        The plan's version number for its date, printed beside the date.
    superseded_by
        The newer version that replaces this plan, if any: every page then says it is
        superseded and must not be used.

    Returns
    -------
    list of RouteSheet
        Ordered by slice start, then patroller id, then part. Routes without stops are left out.

    Raises
    ------
    InputError
        If ``patroller`` or a slice id is not in the plan; the message lists the valid ones.

    Examples
    --------
    >>> sheets = route_sheets(plan, station_phone=cfg.phone, patroller="V1")  # doctest: +SKIP
    >>> pdf = render_pdf(render_sheets_html(sheets, lang="zh"))  # doctest: +SKIP
    """
    if slices is not None:
        slices = [slices] if isinstance(slices, str) else list(slices)
        bad = [s for s in slices if s not in plan.slice_ids]
        if bad:
            raise _unknown("slice", bad, plan.slice_ids)
    if patroller is not None:
        ids = sorted({r.patroller_id for s in plan.slices for r in s.routes})
        if patroller not in ids:
            raise _unknown("patroller", [patroller], ids)
    tz = zoneinfo.ZoneInfo(plan.timezone)
    classes = class_method(p.gi_class for s in plan.slices for r in s.routes for p in r.stops)
    legend_mm = _legend_mm(plan, classes)
    labels = dict(slice_labels or {})
    members = {p.id: p.members for p in roster}
    flags = feedback_flags(plan)
    out = []
    for sp in sorted(plan.slices, key=lambda s: s.start):
        if slices is not None and sp.slice_id not in slices:
            continue
        routes = sorted(sp.routes, key=lambda r: (r.patroller_id, r.part))
        for r in routes:
            if not r.deployed or (patroller is not None and r.patroller_id != patroller):
                continue
            rows = _sheet_rows(r, plan, tz, flags)
            team = f"{r.name} ({r.patroller_id})"
            label = labels.get(sp.slice_id, sp.label)
            layout = sheet_layout(
                rows,
                header_mm=_header_mm(
                    plan.station_name, team, label, banner=superseded_by is not None
                ),
                map_aspect=route_aspect(r),
                legend_mm=legend_mm,
            )
            out.append(
                RouteSheet(
                    station_name=plan.station_name,
                    station_phone=station_phone,
                    date=plan.date.isoformat(),
                    slice_id=sp.slice_id,
                    slice_label=label,
                    patroller_id=r.patroller_id,
                    name=r.name,
                    role=r.role,
                    mode=r.mode,
                    members=members.get(r.patroller_id),
                    part=r.part,
                    start=_hhmm(r.start, tz),
                    end=_hhmm(r.end, tz),
                    rows=rows,
                    total_stops=len(rows),
                    total_dwell_min=_minutes(sum(p.dwell_s for p in r.stops)),
                    distance_km=round(r.distance_m / 1000, 2),
                    duration_min=_minutes(r.duration_s),
                    map_svg=route_map_svg(
                        r, width_mm=layout.map_mm[0], height_mm=layout.map_mm[1], grid=grid
                    ),
                    layout=layout,
                    version=version,
                    superseded_by=superseded_by,
                    classes=classes,
                    **_forecast_fields(plan, sp.slice_id),
                )
            )
    return out


def _sheet_rows(
    r, plan: PatrolPlan, tz: zoneinfo.ZoneInfo, flags: Mapping[str, tuple[Message, ...]]
) -> tuple[SheetRow, ...]:
    """Return the stop rows of route ``r``; why and flags on each micro-grid's first visit."""
    from gridplan.routing.plan import why_parts

    first: dict[str, int] = {}
    for k, p in enumerate(r.stops):
        first.setdefault(p.micro_id or f"{p.target_id}@{k}", k)  # each target its own
    return tuple(
        SheetRow(
            order=p.order,
            micro_id=p.micro_id,
            name=p.name,
            base_id=p.base_id,
            street=p.street,
            arrival=_hhmm(p.arrival, tz),
            dwell_min=_minutes(p.dwell_s),
            departure=_hhmm(p.departure, tz),
            risk_class=p.risk_class,
            visit=p.copy,
            hot_class=p.gi_class if p.gi_class in HOT_CLASSES else "",
            why=tuple(why_parts(p, plan.settings.get("alerts") or ()))
            if k == first[p.micro_id or f"{p.target_id}@{k}"]
            else (),
            flags=_row_flags(p, flags) if k == first[p.micro_id or f"{p.target_id}@{k}"] else (),
            **_target_fields(p, tz),
            **_alert_fields(p, plan, tz),
        )
        for k, p in enumerate(r.stops)
    )


# --------------------------------------------------------------------------------------------
# HTML and PDF


def _translations_for(lang: str) -> gettext.NullTranslations:
    """Return the compiled catalogue for ``lang`` in ``gridplan/web/translations``, if any."""
    from babel.support import Translations

    base = resources.files("gridplan.web").joinpath("translations")
    locales = [lang.replace("-", "_")]
    if lang.startswith("zh"):
        locales += ["zh_CN", "zh_Hans_CN", "zh"]
    return Translations.load(str(base), locales=locales, domain="messages")


def sheets_environment(translations: gettext.NullTranslations | None = None) -> jinja2.Environment:
    """Return a Jinja environment for the sheet templates outside Flask (CLI, tests, notebooks).

    It loads ``gridplan/sheets/templates``, autoescapes, and has ``jinja2.ext.i18n`` installed
    with new-style gettext (as Flask-Babel does): ``translations`` when given, else null
    translations (the English msgids).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gridplan.sheets", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    if translations is None:
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    else:
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    _install_tr(env, translations)
    return env


def _install_tr(env: jinja2.Environment, translations: gettext.NullTranslations | None) -> None:
    """Give the sheet template the ``tr`` filter (a library message in the sheet's language).

    The web UI's Jinja environment has its own ``tr`` filter (Flask-Babel's language).
    """
    tr = translations or gettext.NullTranslations()
    env.filters["tr"] = lambda m: m.render(tr.gettext) if isinstance(m, Message) else str(m)


def sheets_css() -> str:
    """Return the print CSS (``gridplan/sheets/static/sheets.css``) that the template inlines."""
    path = resources.files("gridplan.sheets").joinpath("static", "sheets.css")
    return path.read_text(encoding="utf-8")


def sheets_context(sheets: Sequence[RouteSheet], *, lang: str = "zh") -> dict[str, Any]:
    """Return the variables of ``sheets/sheets.html``.

    In the web UI: ``render_template(TEMPLATE, **sheets_context(sheets, lang=locale))``
    under ``flask_babel.force_locale``.
    """
    from markupsafe import Markup

    return {
        "sheets": list(sheets),
        "html_lang": HTML_LANG.get(lang, lang.replace("_", "-")),
        "sheets_css": Markup(sheets_css()),  # our own file, inlined so the page needs nothing
    }


def render_sheets_html(
    sheets: Sequence[RouteSheet],
    *,
    lang: str = "zh",
    env: jinja2.Environment | None = None,
    translations: gettext.NullTranslations | None = None,
) -> str:
    """Render route sheets as one self-contained HTML document (one A4 page per sheet page).

    Parameters
    ----------
    sheets
        From :func:`route_sheets`.
    lang
        ``zh`` or ``en``: the document language and, without ``translations``, the compiled
        catalogue looked up in ``gridplan/web/translations`` (English text when there is none).
    env
        A Jinja environment with the i18n extension (default :func:`sheets_environment`).
        ``translations``, when given, are installed into it.
    translations
        A gettext translations object (e.g. ``babel.support.Translations``).

    Returns
    -------
    str
        The HTML; the print CSS is inlined and nothing is loaded from elsewhere.

    Examples
    --------
    >>> html = render_sheets_html(route_sheets(plan), lang="en")  # doctest: +SKIP
    """
    if env is None:
        env = sheets_environment(translations or _translations_for(lang))
    elif translations is not None:
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        _install_tr(env, translations)
    elif "tr" not in env.filters:
        _install_tr(env, None)
    return env.get_template(TEMPLATE).render(**sheets_context(sheets, lang=lang))


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render the HTML of :func:`render_sheets_html` as a PDF with WeasyPrint.

    Chinese text needs a CJK font installed where this runs (Debian: ``fonts-noto-cjk``);
    WeasyPrint embeds the glyphs used.

    Parameters
    ----------
    html
        A complete HTML document.
    base_url
        Where relative links resolve (the sheets have none).

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    GridplanError
        If WeasyPrint or the Pango library it needs is missing; the message says what to
        install.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is there but Pango is not
        msg = (
            f"PDF route sheets need WeasyPrint and Pango, which cannot be loaded ({exc}); "
            f"install them with: {_PDF_INSTALL}. Meanwhile print the HTML sheets from the "
            "browser."
        )
        raise GridplanError(msg) from exc
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
