"""The forecast methods: each a frozen dataclass of a few parameters.

A method's :meth:`~Method.fit` takes a :class:`~gridplan.forecast.history.History` and an
origin (a local date, or a day index) and returns the forecast intensity per slice and
micro-grid, ``(slices, cells)``, from the incidents of the days *before* the origin only;
:meth:`~Method.fit_many` does the same for many origins at once, ``(origins, slices, cells)``.
Only the order of the values matters to a patrol plan (micro-grids are taken best first), so
the scales of methods differ.

Baselines
    :class:`PriorCounts` (every incident before the origin: "last years' hot spots"),
    :class:`RecentCounts` (the last ``days`` days, 365 by default) and
    :class:`RecencyWeighted` (each incident halved per ``half_life_days`` of age).
Slices
    :class:`SliceShrunk` shrinks each micro-grid's split of its incidents over the slices
    toward the station's split (empirical Bayes with a Dirichlet prior of ``strength``
    pseudo-incidents): a micro-grid with 3 night incidents in 5 is not believed to be a night
    hot spot as firmly as one with 300 in 500.
Space
    :class:`KernelDensity` spreads a method's values over the micro-grids with a Gaussian
    kernel in metres (integrated over each micro-grid, :meth:`History.kernel`), the
    kernel-density hot-spot map aggregated to micro-grids.
    :class:`NearRepeat` is the self-exciting part for short horizons: the last days' incidents
    (half-life in days) spread over a few hundred metres (Mohler et al. 2011; the near-repeat
    pattern of burglary and robbery).
Combination
    :class:`Blend`: a weighted sum of methods, each normalised to sum 1 per slice.
Severity
    ``severity=True`` counts each incident with its severity weight (category x alert).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any
from typing import Protocol

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan.forecast.history import History

__all__ = [
    "Blend",
    "KernelDensity",
    "Method",
    "NearRepeat",
    "PriorCounts",
    "RecencyWeighted",
    "RecentCounts",
    "SliceShrunk",
    "method_from_dict",
]


class Method(Protocol):
    """What a forecast method provides."""

    @property
    def label(self) -> str:
        """A short name with the parameters, e.g. ``recency(90d)``."""

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""

    def fit(self, history: History, origin: dt.date | str | int) -> np.ndarray:
        """``(slices, cells)`` intensity from the days before ``origin``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the method and its parameters as JSON-ready data (:func:`method_from_dict`)."""


class _Base:
    """Shared by the methods: ``fit`` from ``fit_many``, ``to_dict`` from the fields."""

    kind = ""

    def fit(self, history: History, origin: dt.date | str | int) -> np.ndarray:
        index = origin if isinstance(origin, int | np.integer) else history.day_index(origin)
        return self.fit_many(history, np.array([index]))[0]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, _Base):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = [v.to_dict() if isinstance(v, _Base) else v for v in value]
            out[f.name] = value
        return out

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _sev(severity: bool) -> str:
    return ", severity" if severity else ""


def _positive(name: str, value: float, example: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        msg = f"{name}={value!r} must be a positive number, e.g. {example}"
        raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class PriorCounts(_Base):
    """Every incident before the origin (the prior-count baseline).

    Examples
    --------
    >>> PriorCounts().label
    'prior'
    """

    severity: bool = False
    kind = "prior"

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"prior{_sev(self.severity)}"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        return history.totals(origins, severity=self.severity)


@dataclasses.dataclass(frozen=True)
class RecentCounts(_Base):
    """The incidents of the ``days`` days before the origin.

    Examples
    --------
    >>> RecentCounts(365).label
    'last 365d'
    """

    days: int = 365
    severity: bool = False
    kind = "recent"

    def __post_init__(self):
        _positive("days", self.days, "365")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"last {self.days:g}d{_sev(self.severity)}"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        return history.window(origins, int(self.days), severity=self.severity)


@dataclasses.dataclass(frozen=True)
class RecencyWeighted(_Base):
    """Incidents before the origin, each halved for every ``half_life_days`` of age.

    Examples
    --------
    >>> RecencyWeighted(90).label
    'recency 90d'
    """

    half_life_days: float = 365.0
    severity: bool = False
    kind = "recency"

    def __post_init__(self):
        _positive("half_life_days", self.half_life_days, "365")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"recency {self.half_life_days:g}d{_sev(self.severity)}"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        return history.decayed(origins, self.half_life_days, severity=self.severity)


@dataclasses.dataclass(frozen=True)
class SliceShrunk(_Base):
    """A method's slice values shrunk toward the station's slice split (empirical Bayes).

    Micro-grid ``c`` with whole-day value ``n_c`` and slice value ``n_sc``: its share in
    slice ``s`` becomes ``(n_sc + strength * p_s) / (n_c + strength)``, where ``p_s`` is the
    station's share of slice ``s`` (a Dirichlet prior of ``strength`` pseudo-incidents); the
    slice value is ``n_c`` times that share. The whole day is unchanged.

    Examples
    --------
    >>> SliceShrunk(PriorCounts(), 20).label
    'shrunk(prior, 20)'
    """

    base: Method = dataclasses.field(default_factory=PriorCounts)
    strength: float = 20.0
    kind = "shrunk"

    def __post_init__(self):
        _positive("strength", self.strength, "20")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"shrunk({self.base.label}, {self.strength:g})"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        x = self.base.fit_many(history, origins)
        whole = x[:, :1, :]
        totals = x.sum(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(totals[:, :1] > 0, totals / totals[:, :1], 0.0)
        out = whole * (x + self.strength * p) / (whole + self.strength)
        out[:, 0] = x[:, 0]
        return out


@dataclasses.dataclass(frozen=True)
class KernelDensity(_Base):
    """A method's values spread by a Gaussian kernel of ``bandwidth_m`` metres.

    Examples
    --------
    >>> KernelDensity(PriorCounts(), 150).label
    'kde(prior, 150m)'
    """

    base: Method = dataclasses.field(default_factory=PriorCounts)
    bandwidth_m: float = 150.0
    kind = "kde"

    def __post_init__(self):
        _positive("bandwidth_m", self.bandwidth_m, "150")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"kde({self.base.label}, {self.bandwidth_m:g}m)"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        return self.base.fit_many(history, origins) @ history.kernel(self.bandwidth_m).T


@dataclasses.dataclass(frozen=True)
class NearRepeat(_Base):
    """The last days' incidents, halved per ``half_life_days``, spread over ``bandwidth_m``.

    Examples
    --------
    >>> NearRepeat(7, 300).label
    'near-repeat 7d 300m'
    """

    half_life_days: float = 7.0
    bandwidth_m: float = 300.0
    severity: bool = False
    kind = "near_repeat"

    def __post_init__(self):
        _positive("half_life_days", self.half_life_days, "7")
        _positive("bandwidth_m", self.bandwidth_m, "300")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        return f"near-repeat {self.half_life_days:g}d {self.bandwidth_m:g}m{_sev(self.severity)}"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        x = history.decayed(origins, self.half_life_days, severity=self.severity)
        return x @ history.kernel(self.bandwidth_m).T


@dataclasses.dataclass(frozen=True)
class Blend(_Base):
    """A weighted sum of methods, each normalised to sum 1 per slice.

    Examples
    --------
    >>> Blend((PriorCounts(), NearRepeat()), (0.8, 0.2)).label
    'blend(0.8 prior + 0.2 near-repeat 7d 300m)'
    """

    parts: tuple[Method, ...] = ()
    weights: tuple[float, ...] = ()
    kind = "blend"

    def __post_init__(self):
        if not self.parts or len(self.parts) != len(self.weights):
            msg = (
                f"a blend needs as many weights as parts (got {len(self.parts)} parts, "
                f"{len(self.weights)} weights), e.g. Blend((PriorCounts(), NearRepeat()), "
                "(0.8, 0.2))"
            )
            raise InputError(msg)
        for w in self.weights:
            _positive("a blend weight", w, "0.2")

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        terms = " + ".join(
            f"{w:g} {p.label}" for p, w in zip(self.parts, self.weights, strict=True)
        )
        return f"blend({terms})"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` intensities from the days before each origin."""
        out = None
        for part, weight in zip(self.parts, self.weights, strict=True):
            x = part.fit_many(history, origins)
            total = x.sum(axis=2, keepdims=True)
            x = weight * np.divide(x, total, out=np.zeros_like(x), where=total > 0)
            out = x if out is None else out + x
        return out


_KINDS: dict[str, type] = {
    c.kind: c
    for c in (PriorCounts, RecentCounts, RecencyWeighted, SliceShrunk, KernelDensity, NearRepeat)
}
_KINDS["blend"] = Blend


def method_from_dict(data: dict[str, Any] | Any) -> Method:
    """Rebuild a method from :meth:`Method.to_dict`.

    Raises
    ------
    InputError
        If the kind or a parameter is unknown or wrong.

    Examples
    --------
    >>> method_from_dict({"kind": "recency", "half_life_days": 90}).label
    'recency 90d'
    """
    # the learned method builds on this module, so it joins the kinds here, not at import
    from gridplan.forecast.learned import PoissonLearned

    kinds = _KINDS | {PoissonLearned.kind: PoissonLearned}
    if not isinstance(data, dict) or data.get("kind") not in kinds:
        msg = f"forecast method {data!r}: 'kind' must be one of {', '.join(sorted(kinds))}"
        raise InputError(msg)
    cls = kinds[data["kind"]]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - {"kind"})
    if unknown:
        msg = (
            f"forecast method {data['kind']!r}: unknown parameter(s) {unknown}; use {sorted(names)}"
        )
        raise InputError(msg)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name == "kind":
            continue
        if name == "base":
            value = method_from_dict(value)
        elif name == "parts":
            value = tuple(method_from_dict(v) for v in value)
        elif name == "weights":
            value = tuple(float(v) for v in value)
        kwargs[name] = value
    return cls(**kwargs)


def intensity_frame(history: History, values: np.ndarray) -> pd.DataFrame:
    """Return a ``(slices, cells)`` forecast as a long frame: ``id``, ``slice``, ``forecast``."""
    n = len(history.cells)
    return pd.DataFrame(
        {
            "id": np.tile(history.ids, len(history.slice_ids)),
            "slice": np.repeat(np.array(history.slice_ids, dtype=object), n),
            "forecast": np.asarray(values, dtype=float).reshape(-1),
        }
    )
