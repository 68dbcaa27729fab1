"""Team Orienteering Problem instances (Chao et al.) read into a :class:`PrizeVRP`.

The benchmarks (``benchmarks/top.py``, ``benchmarks/top_exact.py``) and the solver tests use
these files to compare gridplan's solver with published best scores; nothing in the patrol
planner needs them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gridplan._errors import InputError
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import Vehicle

#: Travel-time scale used by :func:`read_top`: integer units per unit of Euclidean distance.
TOP_SCALE = 10_000


@dataclasses.dataclass(frozen=True)
class TopInstance:
    """A Team Orienteering Problem instance in real-valued Euclidean distances.

    Attributes
    ----------
    name
        File stem, e.g. ``p4.2.a``.
    xy
        ``(n, 2)`` coordinates; node 0 is the start, node ``n - 1`` the end.
    score
        Integer score per node.
    num_vehicles
        Number of paths ``m``.
    tmax
        Maximum length of each path.

    Examples
    --------
    >>> from gridplan.routing.solver.top import read_top
    >>> inst = read_top("tests/data/top_p2.2.k.txt")
    >>> inst.n, inst.num_vehicles, inst.tmax
    (21, 2, 22.5)
    >>> inst.to_model().num_vehicles
    2
    """

    name: str
    xy: np.ndarray
    score: np.ndarray
    num_vehicles: int
    tmax: float

    @property
    def n(self) -> int:
        """Number of nodes, start and end included."""
        return len(self.score)

    def distances(self) -> np.ndarray:
        """Real Euclidean distance matrix."""
        d = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((d**2).sum(axis=2))

    def to_model(self, *, scale: int = TOP_SCALE) -> PrizeVRP:
        """Return the instance as a :class:`PrizeVRP` with conservatively rounded travel.

        Distances are multiplied by ``scale`` and rounded *up*, ``tmax`` rounded *down*, so any
        route that fits in integers also fits in real distances (it may exclude a few routes
        that fit only within rounding). Travel only breaks ties (``travel_weight`` 0).
        """
        travel = np.ceil(self.distances() * scale - 1e-9).astype(np.int64)
        np.fill_diagonal(travel, 0)
        limit = math.floor(self.tmax * scale + 1e-9)
        n = self.n
        vehicles = tuple(
            Vehicle(f"path{k + 1}", start=0, end=n - 1, max_duration=limit, latest_end=limit)
            for k in range(self.num_vehicles)
        )
        return PrizeVRP(
            travel=(travel,),
            service=np.zeros(n, dtype=np.int64),
            prize=self.score,
            vehicles=vehicles,
            name=self.name,
        )

    def route_length(self, nodes: Sequence[int]) -> float:
        """Real Euclidean length of a path through ``nodes``."""
        p = self.xy[np.asarray(nodes, dtype=np.int64)]
        return float(np.sqrt(((p[1:] - p[:-1]) ** 2).sum(axis=1)).sum())

    def check(self, paths: Sequence[Sequence[int]], *, tol: float = 1e-9) -> tuple[int, list[str]]:
        """Score of ``paths`` (full node sequences) and any violation in real distances."""
        problems = []
        if len(paths) > self.num_vehicles:
            problems.append(f"{len(paths)} paths for {self.num_vehicles} vehicles")
        seen: set[int] = set()
        for k, p in enumerate(paths):
            if len(p) <= 2:
                continue  # an unused vehicle does not travel
            if p[0] != 0 or p[-1] != self.n - 1:
                problems.append(f"path {k} does not run from 0 to {self.n - 1}")
            length = self.route_length(p)
            if length > self.tmax + tol:
                problems.append(f"path {k} has length {length:.6f} > tmax {self.tmax}")
            for u in p[1:-1]:
                if u in seen or u in (0, self.n - 1):
                    problems.append(f"node {u} visited twice")
                seen.add(u)
        return int(sum(int(self.score[u]) for u in seen)), problems


def read_top(path: str | Path) -> TopInstance:
    """Read a Team Orienteering Problem file in the Chao format (``n``, ``m``, ``tmax``, nodes).

    Parameters
    ----------
    path
        A file such as ``p4.2.a.txt``: header lines ``n N``, ``m M``, ``tmax T``, then ``N``
        lines ``x y score``; the first node is the start and the last the end.

    Returns
    -------
    TopInstance

    Raises
    ------
    InputError
        When the file is missing or does not follow the format.

    Examples
    --------
    >>> inst = read_top("tests/data/top_p2.2.k.txt")
    >>> inst.name, inst.n, inst.num_vehicles, inst.tmax
    ('top_p2.2.k', 21, 2, 22.5)
    """
    path = Path(path)
    try:
        lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        msg = f"cannot read TOP file {path}: {exc}"
        raise InputError(msg) from exc
    header = {}
    for i, key in enumerate(("n", "m", "tmax")):
        if i >= len(lines) or len(lines[i]) != 2 or lines[i][0] != key:
            got = " ".join(lines[i]) if i < len(lines) else "end of file"
            msg = f"{path}: line {i + 1} should read '{key} <value>', got {got!r}"
            raise InputError(msg)
        header[key] = lines[i][1]
    try:
        n, m, tmax = int(header["n"]), int(header["m"]), float(header["tmax"])
        rows = np.array([[float(x) for x in ln] for ln in lines[3:]], dtype=float)
    except ValueError as exc:
        msg = f"{path}: bad number ({exc}); each node line is 'x y score'"
        raise InputError(msg) from exc
    if rows.shape != (n, 3):
        msg = f"{path}: header says n={n} but found node lines of shape {rows.shape}"
        raise InputError(msg)
    if n < 2 or m < 1 or tmax < 0:
        msg = f"{path}: n={n}, m={m}, tmax={tmax} make no instance (need n >= 2, m >= 1)"
        raise InputError(msg)
    score = rows[:, 2].astype(np.int64)
    score[0] = score[-1] = 0
    xy = rows[:, :2].copy()
    xy.setflags(write=False)
    score.setflags(write=False)
    return TopInstance(
        name=path.name.removesuffix(".txt"), xy=xy, score=score, num_vehicles=m, tmax=tmax
    )
