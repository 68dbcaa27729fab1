"""The compiled loop of the time-window search: ruin, recreate, accept, many rounds per call.

:func:`rounds` runs a number of rounds on a :class:`~._state.State` and keeps the best
routes met in ``best``; :class:`Walk` holds what a walk carries from one call to the next
(the current and best routes and values, the round counter), so the Python driver can stop
between calls at a time limit while a work limit (rounds) stays exact.
"""

# numba compiles the legacy np.random calls to its own per-process generator, seeded by
# _walk.seed: the Generator API the rule asks for is not what compiled code draws from.
# ruff: noqa: NPY002

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from gridplan.routing.solver.lns._insert import recreate
from gridplan.routing.solver.lns._moves import exchange_tails
from gridplan.routing.solver.lns._moves import replace
from gridplan.routing.solver.lns._ruin import choose
from gridplan.routing.solver.lns._ruin import remove_marked
from gridplan.routing.solver.lns._state import refresh_all
from gridplan.routing.solver.lns._state import value


class Walk(NamedTuple):
    """A walk's memory between calls of :func:`rounds` (arrays changed in place)."""

    current: np.ndarray  # (K, cap) the accepted routes
    current_size: np.ndarray  # (K,)
    best: np.ndarray  # (K, cap) the best routes met
    best_size: np.ndarray  # (K,)
    figures: np.ndarray  # [current value, best value, best travel, round]


class Knobs(NamedTuple):
    """The walk's settings, as numbers (see :class:`~..params.LnsParams`)."""

    temperature: float  # acceptance threshold at the start of an epoch, in prize units
    epoch: int  # rounds of one walk before it restarts from the best
    noise: float  # prizes times a factor in 1 +- noise, drawn per round
    power: float  # insertion score: net prize ** power / extra seconds
    most_removed: int  # the ruin removes 1 .. this many stops
    replace: bool  # local search: visited stops swapped for free ones worth more
    tails: bool  # local search: 2-opt* between routes when it saves travel


@numba.njit(cache=True)
def seed(value):  # pragma: no cover - compiled
    """Seed the compiled code's random numbers (per process)."""
    np.random.seed(value)


@numba.njit(cache=True)
def start(d, s, w):  # pragma: no cover - compiled
    """Make the state's routes the walk's current and best (after a first recreate)."""
    noise = np.ones(len(d.service))
    recreate(d, s, noise, 1.0, d.customers)
    v, travel = value(d, s)
    w.current[:] = s.routes
    w.current_size[:] = s.size
    w.best[:] = s.routes
    w.best_size[:] = s.size
    w.figures[0], w.figures[1], w.figures[2] = v, v, travel


@numba.njit(cache=True)
def _restore(d, s, routes, size):  # pragma: no cover - compiled
    s.routes[:] = routes
    s.size[:] = size
    refresh_all(d, s)


@numba.njit(cache=True)
def improve(d, s, knobs, noise):  # pragma: no cover - compiled
    """Local search after the recreate: 2-opt* and replacements, each followed by insertion."""
    for _ in range(20):
        changed = knobs.tails and exchange_tails(d, s)
        changed = (knobs.replace and replace(d, s, d.customers)) or changed
        if not changed:
            return
        recreate(d, s, noise, knobs.power, d.customers)


@numba.njit(cache=True)
def rounds(d, s, w, knobs, count):  # pragma: no cover - compiled
    """Run ``count`` rounds of ruin, recreate and threshold acceptance."""
    n = len(d.service)
    visited_cap = max(4, len(d.customers) // 3)
    for _ in range(count):
        it = int(w.figures[3])
        w.figures[3] += 1
        if it > 0 and it % knobs.epoch == 0:  # a new walk from the best so far
            _restore(d, s, w.best, w.best_size)
            w.figures[0] = w.figures[1]
        progress = (it % knobs.epoch) / knobs.epoch
        q = np.random.randint(1, min(knobs.most_removed, visited_cap) + 1)
        remove_marked(d, s, choose(d, s, q))
        noise = 1.0 + knobs.noise * (2.0 * np.random.random(n) - 1.0)
        recreate(d, s, noise, knobs.power, d.customers)
        improve(d, s, knobs, noise)
        v, travel = value(d, s)
        threshold = (1.0 - progress) * knobs.temperature * np.random.random()
        if v >= w.figures[0] - threshold:
            w.current[:] = s.routes
            w.current_size[:] = s.size
            w.figures[0] = v
        if v > w.figures[1] + 1e-9 or (v >= w.figures[1] - 1e-9 and travel < w.figures[2]):
            w.best[:] = s.routes
            w.best_size[:] = s.size
            w.figures[1], w.figures[2] = v, travel
        if v < w.figures[0]:
            _restore(d, s, w.current, w.current_size)
