"""Solver settings: limits, seed, workers and the search settings, loadable from TOML.

:class:`SolveParams` is what :func:`~gridplan.routing.solver.solve.solve_prize_vrp` runs with:
the time and work limits, the seed and the number of worker processes, plus the settings of
the two searches every worker runs, :class:`OrtoolsParams` (OR-Tools' first solution and
iterated local search) and :class:`LnsParams` (the large-neighbourhood search that follows).
The defaults are the settings measured best on the Team Orienteering benchmark
(``benchmarks/README.md`` records the measurements behind each). All three are frozen and
check their values when made; :meth:`SolveParams.from_file` reads them from a TOML file::

    time_limit_s = 10
    seed = 1
    work_limit = 300

    [ortools]
    ils_cooling = "LINEAR"

    [lns]
    noise = 0.5
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridplan._errors import ConfigError
from gridplan._errors import InputError

#: Where each budget-search walk starts (:attr:`LnsParams.epoch_start`).
EPOCH_STARTS = ("empty", "start", "best")


@dataclasses.dataclass(frozen=True)
class OrtoolsParams:
    """Settings of OR-Tools' search: first solution, iterated local search, operators.

    The names of strategies are OR-Tools' enum names (``routing_enums.proto``,
    ``routing_ils.proto``); a wrong one raises with the list of valid names.

    Attributes
    ----------
    first_solution
        First-solution strategy (``FirstSolutionStrategy``), e.g. ``"ALL_UNPERFORMED"``
        (start with every stop dropped) or ``"PATH_CHEAPEST_ARC"``.
    metaheuristic
        Local-search metaheuristic (``LocalSearchMetaheuristic``) of a plain search, e.g.
        ``"GREEDY_DESCENT"`` or ``"GUIDED_LOCAL_SEARCH"``.
    iterated_local_search
        Search by ruin and recreate with simulated-annealing acceptance (OR-Tools' ILS)
        instead of the metaheuristic alone.
    extra_operators
        Also use OR-Tools' operators that make stops active by exchange or relocation, and
        its inactive and path large-neighbourhood operators.
    gls_lambda
        Guided local search's penalty coefficient.
    tie_break
        Add one cost unit per travel second, so that among equal prizes shorter routes win
        (they leave slack for more stops).
    ils_removed
        Mean number of visits each string-removal (SISR) ruin removes.
    ils_sequence
        Longest string a SISR ruin removes from one route.
    ils_auto_temperature
        Let OR-Tools choose the annealing temperatures (``ils_temperature`` is then unused).
    ils_temperature
        Annealing start and end temperature in prize units, or ``None`` for OR-Tools'
        default.
    recreate
        Insertion heuristic that repairs a ruined solution (a ``FirstSolutionStrategy``).
    lean_operators
        Switch off OR-Tools' operators that re-run insertion heuristics on whole paths
        (slow per move).
    ils_cooling
        Cooling schedule (``CoolingScheduleStrategy``): ``"EXPONENTIAL"`` or ``"LINEAR"``.
    ils_random_walk
        More than 0 adds a random-walk ruin that removes this many visits.
    ils_close_routes
        More than 0 adds a ruin of this many spatially close routes.
    ils_composition
        How several ruins combine (``RuinCompositionStrategy``), e.g.
        ``"RUN_ONE_RANDOMLY"``.
    recreate_sorting
        Orders in which the insertion takes stops (``InsertionSortingProperty`` without its
        ``SORTING_PROPERTY_`` prefix), e.g. ``("RANDOM",)``.
    operators
        Extra local-search operators to switch on, by name without ``use_``, e.g.
        ``("relocate_and_make_active",)``.
    jitter
        Each worker but the first multiplies every arc cost by a seeded random factor in
        ``[1, 1 + jitter]``, so that workers search different landscapes.

    Examples
    --------
    OR-Tools as in its examples, without the iterated local search:

    >>> plain = OrtoolsParams(
    ...     first_solution="PATH_CHEAPEST_ARC",
    ...     metaheuristic="GUIDED_LOCAL_SEARCH",
    ...     iterated_local_search=False,
    ... )
    >>> plain.jitter
    0.1
    >>> OrtoolsParams(ils_cooling="FAST")
    Traceback (most recent call last):
    ...
    gridplan._errors.InputError: OrtoolsParams: ils_cooling='FAST' is not one of 'EXPONENTIAL', 'LINEAR', 'STEPPED'...
    """  # noqa: E501

    first_solution: str = "ALL_UNPERFORMED"
    metaheuristic: str = "GREEDY_DESCENT"
    iterated_local_search: bool = True
    extra_operators: bool = False
    gls_lambda: float = 0.1
    tie_break: bool = True
    ils_removed: int = 10
    ils_sequence: int = 10
    ils_auto_temperature: bool = False
    ils_temperature: tuple[float, float] | None = (50.0, 1.0)
    recreate: str = "LOCAL_CHEAPEST_COST_INSERTION"
    lean_operators: bool = False
    ils_cooling: str = "EXPONENTIAL"
    ils_random_walk: int = 0
    ils_close_routes: int = 0
    ils_composition: str = "RUN_ONE_RANDOMLY"
    recreate_sorting: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    jitter: float = 0.1

    def __post_init__(self):
        for name in ("recreate_sorting", "operators"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.ils_temperature is not None:
            object.__setattr__(self, "ils_temperature", tuple(self.ils_temperature))
        problems = _check_numbers(
            self,
            at_least={"gls_lambda": 0, "ils_removed": 1, "ils_sequence": 1, "jitter": 0},
        )
        problems += _check_numbers(self, at_least={"ils_random_walk": 0, "ils_close_routes": 0})
        temperature = self.ils_temperature
        if temperature is not None and (
            len(temperature) != 2 or not all(_is_number(t) and t > 0 for t in temperature)
        ):
            problems.append(
                f"ils_temperature={temperature!r} must be two positive numbers (start, end) "
                "in prize units, e.g. (50.0, 1.0)"
            )
        if not problems:
            # Lazily: the names are OR-Tools' own, and only _ortools imports OR-Tools.
            from gridplan.routing.solver import _ortools

            problems = _ortools.unknown_names(self)
        _raise("OrtoolsParams", problems)


@dataclasses.dataclass(frozen=True)
class LnsParams:
    """Settings of the large-neighbourhood search each worker runs after OR-Tools' ILS.

    On models whose routes are limited by a duration budget only (no time windows, no
    revisit groups) the search takes ``share`` of the time; where no balance term or cover
    group needs OR-Tools' objective either it runs in Python
    (:func:`~gridplan.routing.solver.lns.search.budget_search`), else every round goes
    through OR-Tools' descent
    (:func:`~gridplan.routing.solver.lns.search.large_neighbourhood_search`).

    Attributes
    ----------
    share
        Share of a worker's time for this search on duration-budget models.
    share_timed
        The same for models with time windows or revisit groups.
    temperature
        Start of the acceptance threshold, which falls to 0 over a walk: a worse solution
        is accepted when it is at most a random share of it worse. In prize units for the
        OR-Tools LNS, in mean prizes for the Python search.
    recreate
        The OR-Tools LNS re-inserts stops by prize per extra second before each descent.
    fast
        The OR-Tools LNS descends with ``FastSolveFromAssignmentWithParameters``.
    lean
        The OR-Tools descents run without the expensive operators (see
        :attr:`OrtoolsParams.lean_operators`).
    python
        Run the search in Python where the model allows it.
    polish
        Share of the search's time for an OR-Tools descent after the Python search.
    epoch
        Rounds of one walk of the Python search; each walk starts afresh.
    restart
        More than 0: the time-window search starts a new walk from empty routes when its
        best has not gained value for this many rounds (the best of all walks is kept); where
        a search converges early, as on 100-300-stop models with one vehicle, this reaches
        other local optima (Cordeau's pr05 with one vehicle: the optimum in 5 of 16 seeds
        at 8,000 rounds, 1 of 16 without). Large slices keep improving and never restart.
        0: never.
    crossover
        Chance that such a new walk starts from two earlier walks' bests (elites) instead of
        empty routes: one elite's routes less the stops the other leaves out, repaired.
        Off: on Cordeau's pr05 with one vehicle it hit the optimum in 2 of 16 seeds against
        5 of 16 without (8,000 rounds).
    segment
        Chance that a round of the time-window search, instead of its ruin, replaces a random
        segment of 0-10 stops of one route by the best chain a beam search finds through the
        40 free stops of least detour (revisit copies stay out of it). It moves a route from
        one chain of stops to another in one step, which one-stop insertions rarely do. Off:
        on pr05 with one vehicle it lifts the mean score at 8,000 rounds from 591.6 to 593.1
        but reaches the optimum in 6 of 16 seeds against 5 (0.15: 2, 0.6: 2); on 14 TOPTW
        pairs at equal CPU time +19 in 39,465; but the 64-pair benchmark at 10 s gave 1.0031
        x PyVRP with pr15 (4 vehicles) 36 behind (see benchmarks/README.md).
    labels
        More than 0: on models without revisit or cover groups and with at most 400 stops,
        the time-window search first builds whole routes by labelling
        (:mod:`~gridplan.routing.solver.lns.labels`: vehicle by vehicle, the best route
        through the stops left, keeping at most this many partial routes per stop) and starts
        from them where they are worth more than its given routes. Cordeau's pr05 with one
        vehicle: the proven optimum 595 with 100, where the ruin-and-recreate search alone
        reached it in a third of its runs. 0: off.
    labels_share
        Share of the search's time the labelling may take: it runs with 50, 100, ... up to
        ``labels`` per stop while the next pass is expected to fit. Under a work limit it
        runs once with ``labels``, whatever the time (the result depends on the model only).
    epoch_start
        Where each walk starts: ``"empty"`` routes, the ``"start"`` routes or the
        ``"best"`` found so far.
    swaps
        The repair swaps visited stops for better unvisited ones.
    seed_empty
        Chance that the repair starts a route the ruin emptied at a random unvisited stop.
    noise
        The repair ranks stops by prize per extra second times a random factor in
        ``1 +- noise``, drawn per round.
    pool
        More than 0: every this many rounds CP-SAT packs the best set of routes met so far
        that visit no stop twice (the route pool).
    pool_s
        Time limit of one packing, seconds (CP-SAT's deterministic time in a work-limited
        run).
    cross
        The repair also exchanges route tails (2-opt*) when that saves time.
    power
        The time-window search inserts stops by ``net prize ** power`` per extra second.
    most_removed
        Each round of the time-window search removes between 1 and this many stops.
    relocate
        The time-window search's local search also moves a stop to another route where it
        costs less travel.
    or_opt
        The time-window search's local search also moves strings of 1-3 stops within their
        route where that saves travel.

    Examples
    --------
    >>> LnsParams(noise=0.5).epoch_start
    'best'
    >>> LnsParams(epoch_start="random")
    Traceback (most recent call last):
    ...
    gridplan._errors.InputError: LnsParams: epoch_start='random' is not one of 'empty', 'start', 'best'; pick one of them
    """  # noqa: E501

    share: float = 0.85
    share_timed: float = 0.8
    temperature: float = 2.0
    recreate: bool = True
    fast: bool = False
    lean: bool = True
    python: bool = True
    polish: float = 0.05
    epoch: int = 150
    restart: int = 300
    crossover: float = 0.0
    segment: float = 0.0
    labels: int = 100
    labels_share: float = 0.5
    epoch_start: str = "best"
    swaps: bool = True
    seed_empty: float = 1.0
    noise: float = 0.9
    pool: int = 300
    pool_s: float = 0.5
    cross: bool = True
    power: float = 1.0
    most_removed: int = 30
    relocate: bool = False
    or_opt: bool = True

    def __post_init__(self):
        shares = dict.fromkeys(
            ("share", "share_timed", "polish", "seed_empty", "noise", "crossover", "segment"), 1
        )
        shares["labels_share"] = 1
        problems = _check_numbers(self, at_least=dict.fromkeys(shares, 0), at_most=shares)
        problems += _check_numbers(self, at_least={"temperature": 0, "epoch": 1, "pool": 0})
        problems += _check_numbers(self, at_least={"power": 0, "most_removed": 1, "restart": 0})
        problems += _check_numbers(self, at_least={"labels": 0})
        if not (_is_number(self.pool_s) and self.pool_s > 0):
            problems.append(f"pool_s={self.pool_s!r} must be a positive number of seconds")
        if self.epoch_start not in EPOCH_STARTS:
            problems.append(_not_one_of("epoch_start", self.epoch_start, EPOCH_STARTS))
        _raise("LnsParams", problems)


def default_portfolio() -> tuple[tuple[OrtoolsParams, LnsParams], ...]:
    """Return the settings of the second worker of a default solve.

    On models the compiled time-window search takes: no OR-Tools ILS (the search starts from
    empty routes) and at most 15 stops ruined a round; its other settings, and so everything
    on duration-budget models, are the first worker's. Measured on the TOPTW sample (64
    pairs, 2 workers, 3 s): 62,404 against 62,356 with both workers alike (within the
    run-to-run noise of about 0.2 %; see benchmarks/README.md).
    """
    return ((OrtoolsParams(), LnsParams(share_timed=1.0, most_removed=15)),)


@dataclasses.dataclass(frozen=True)
class SolveParams:
    """How :func:`~gridplan.routing.solver.solve.solve_prize_vrp` runs: limits and search.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the whole solve, seconds (model building and process start-up
        included).
    seed
        Seeds the arc-cost jitter and the large-neighbourhood search's random choices:
        the only random inputs, so a work-limited run with the same seed gives the same
        answer.
    workers
        Search processes, each with its own jitter; ``None`` uses every core this process
        may run on. The best solution by cost wins.
    work_limit
        Stop each worker after this many improving solutions of OR-Tools' search (and
        ``work_limit // 10`` rounds of the OR-Tools LNS, ``work_limit`` rounds of the Python
        one) instead of at the time limit: the result is then the same on any machine load
        (``time_limit_s`` remains a safety cap and should be generous). ``None``: the time
        limit alone stops the search.
    ortools, lns
        The search settings of every worker.
    portfolio
        Further ``(ortools, lns)`` settings: worker ``w`` runs entry
        ``w % (1 + len(portfolio))`` of ``((ortools, lns), *portfolio)``. The default,
        :func:`default_portfolio`, makes every other worker's time-window search start from
        nothing instead of OR-Tools' routes and ruin fewer stops a round (duration-budget
        models search as the first worker does).

    Raises
    ------
    InputError
        On a value out of range; the message names each bad value and its allowed range.

    Examples
    --------
    >>> params = SolveParams(time_limit_s=5, seed=1, workers=1, work_limit=200)
    >>> params.lns.share, params.search(0) == (params.ortools, params.lns)
    (0.85, True)
    >>> SolveParams(time_limit_s=0, workers=0)
    Traceback (most recent call last):
    ...
    gridplan._errors.InputError: SolveParams is invalid:
    - time_limit_s=0 must be a positive number of seconds
    - workers=0 must be at least 1, or None for one per core
    """

    time_limit_s: float = 10.0
    seed: int = 0
    workers: int | None = None
    work_limit: int | None = None
    ortools: OrtoolsParams = dataclasses.field(default_factory=OrtoolsParams)
    lns: LnsParams = dataclasses.field(default_factory=LnsParams)
    portfolio: tuple[tuple[OrtoolsParams, LnsParams], ...] = dataclasses.field(
        default_factory=default_portfolio
    )

    def __post_init__(self):
        object.__setattr__(self, "portfolio", tuple(tuple(p) for p in self.portfolio))
        problems = []
        t = self.time_limit_s
        if not (_is_number(t) and t > 0 and math.isfinite(t)):
            problems.append(f"time_limit_s={t!r} must be a positive number of seconds")
        if not (_is_whole(self.seed) and self.seed >= 0):
            problems.append(f"seed={self.seed!r} must be a whole number >= 0")
        if self.workers is not None and not (_is_whole(self.workers) and self.workers >= 1):
            problems.append(
                f"workers={self.workers!r} must be at least 1, or None for one per core"
            )
        if self.work_limit is not None and not (
            _is_whole(self.work_limit) and self.work_limit >= 1
        ):
            problems.append(
                f"work_limit={self.work_limit!r} must be a positive number of solutions, or None"
            )
        for name, value, kind in (
            ("ortools", self.ortools, OrtoolsParams),
            ("lns", self.lns, LnsParams),
        ):
            if not isinstance(value, kind):
                problems.append(f"{name} must be an {kind.__name__}, got {type(value).__name__}")
        for i, entry in enumerate(self.portfolio):
            if len(entry) != 2 or not (
                isinstance(entry[0], OrtoolsParams) and isinstance(entry[1], LnsParams)
            ):
                problems.append(f"portfolio[{i}] must be an (OrtoolsParams, LnsParams) pair")
        _raise("SolveParams", problems)

    def search(self, worker: int) -> tuple[OrtoolsParams, LnsParams]:
        """Return the search settings worker number ``worker`` runs (see ``portfolio``)."""
        searches = ((self.ortools, self.lns), *self.portfolio)
        return searches[worker % len(searches)]

    def override(self, **values: Any) -> SolveParams:
        """Return a copy with the fields given a value other than ``None`` changed.

        The keyword front ends (``solve_prize_vrp(model, time_limit_s=...)``) pass their
        arguments through here: a keyword left at ``None`` keeps the field as it is.

        Examples
        --------
        >>> SolveParams(seed=3).override(seed=None, work_limit=100)
        SolveParams(time_limit_s=10.0, seed=3, workers=None, work_limit=100, ...)
        """
        given = {k: v for k, v in values.items() if v is not None}
        return dataclasses.replace(self, **given) if given else self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "SolveParams") -> SolveParams:
        """Build from a mapping such as a parsed TOML file (tables ``ortools`` and ``lns``).

        Raises
        ------
        ConfigError
            On an unknown key or a bad value; the message starts with ``source``.
        """
        data = dict(data)
        try:
            ortools = _section(OrtoolsParams, data.pop("ortools", {}), "ortools")
            lns = _section(LnsParams, data.pop("lns", {}), "lns")
            given = "portfolio" in data  # else the default portfolio
            portfolio = []
            for i, entry in enumerate(data.pop("portfolio", [])):
                entry = dict(entry)
                where = f"portfolio[{i}]"
                pair = (
                    _section(OrtoolsParams, entry.pop("ortools", {}), f"{where}.ortools"),
                    _section(LnsParams, entry.pop("lns", {}), f"{where}.lns"),
                )
                _no_unknown(entry, ("ortools", "lns"), where)
                portfolio.append(pair)
            _no_unknown(data, [f.name for f in dataclasses.fields(cls)], "top level")
            if given:
                data["portfolio"] = tuple(portfolio)
            return cls(**data, ortools=ortools, lns=lns)
        except (InputError, TypeError) as exc:
            msg = f"{source}: {exc}"
            raise ConfigError(msg) from exc

    @classmethod
    def from_file(cls, path: str | Path) -> SolveParams:
        """Read solver settings from a TOML file; keys left out keep their defaults.

        Parameters
        ----------
        path
            A ``.toml`` file with the top-level keys ``time_limit_s``, ``seed``, ``workers``
            and ``work_limit``, a table ``[ortools]`` (:class:`OrtoolsParams`), a table
            ``[lns]`` (:class:`LnsParams`) and optionally ``[[portfolio]]`` entries with
            their own ``ortools`` and ``lns`` tables.

        Returns
        -------
        SolveParams

        Raises
        ------
        ConfigError
            When the file is missing or not TOML, or has an unknown key or a bad value.

        Examples
        --------
        >>> params = SolveParams.from_file("tests/data/solve_params.toml")
        >>> params.work_limit, params.lns.noise, params.ortools.ils_cooling
        (300, 0.5, 'LINEAR')
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError as exc:
            msg = f"{path}: solver settings file not found; check the path"
            raise ConfigError(msg) from exc
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"{path}: not a UTF-8 TOML file ({exc}); see SolveParams.from_file for keys"
            raise ConfigError(msg) from exc
        return cls.from_mapping(data, source=str(path))


def _section(kind: type, data: Any, where: str):
    if not isinstance(data, Mapping):
        msg = f"{where} must be a table of settings, got {data!r}"
        raise InputError(msg)
    _no_unknown(data, [f.name for f in dataclasses.fields(kind)], f"[{where}]")
    return kind(**data)


def _no_unknown(data: Mapping[str, Any], known, where: str) -> None:
    unknown = ", ".join(map(repr, sorted(set(data) - set(known))))
    if unknown:
        msg = f"unknown key(s) {unknown} in {where}; the keys are {', '.join(known)}"
        raise InputError(msg)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return _is_number(value) and int(value) == value


def _check_numbers(
    obj: Any, *, at_least: Mapping[str, float], at_most: Mapping[str, float] | None = None
) -> list[str]:
    """Problems with numeric fields of ``obj`` outside ``[at_least, at_most]``."""
    defaults = {f.name: f.default for f in dataclasses.fields(obj)}
    problems = []
    for name, low in at_least.items():
        value = getattr(obj, name)
        high = (at_most or {}).get(name)
        whole = type(defaults[name]) is int
        ok = _is_number(value) and math.isfinite(value) and value >= low
        ok = ok and (high is None or value <= high) and (not whole or int(value) == value)
        if not ok:
            kind = "a whole number" if whole else "a number"
            bound = f"{kind} in [{low}, {high}]" if high is not None else f"{kind} >= {low}"
            problems.append(f"{name}={value!r} must be {bound}")
    return problems


def _not_one_of(name: str, value: Any, allowed) -> str:
    return f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}; pick one of them"


def _raise(what: str, problems: list[str]) -> None:
    if len(problems) == 1:
        msg = f"{what}: {problems[0]}"
        raise InputError(msg)
    if problems:
        msg = f"{what} is invalid:\n- " + "\n- ".join(problems)
        raise InputError(msg)


__all__ = ["EPOCH_STARTS", "LnsParams", "OrtoolsParams", "SolveParams", "default_portfolio"]
