"""A learned forecast: Poisson regression over micro-grid x slice x origin rows.

The kind of model that won the NIJ Real-Time Crime Forecasting Challenge: every (origin,
slice, micro-grid) is a row whose features are known at the origin (:data:`FEATURES`: the
micro-grid's counts in the last 7, 28, 91 and 365 days and over its whole history, the same
for its queen neighbours, the whole day's counts, the slice's share, the near-repeat
intensity, the station's short-term trend, the season) and whose target is the count of the
``horizon_days`` from the origin on. A gradient-boosted Poisson model (scikit-learn's
``HistGradientBoostingRegressor(loss="poisson")``) or a Poisson GLM learns how the target
follows from the features; the forecast at an origin is its prediction.

No leakage: the model used at origin ``o`` is fitted at the *refit day* ``r <= o`` (the last
day of a fixed ``refit_days`` calendar grid, so it does not depend on the data) on training
origins ``t`` whose targets end by ``r`` (``t + horizon_days <= r``); the features at ``o``
read the days before ``o``. Nothing of day ``o`` or later reaches the forecast. Models are
cached per history, so scoring 52 weekly origins fits a dozen models, not 52.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from gridplan._errors import InputError
from gridplan.forecast.history import History
from gridplan.forecast.methods import _Base

__all__ = ["FEATURES", "PoissonLearned", "features"]

#: The features of a row, in column order (counts are ``log1p``).
FEATURES = (
    "slice: last 7 d",
    "slice: last 28 d",
    "slice: last 91 d",
    "slice: last 365 d",
    "slice: all history, per year",
    "whole day: last 28 d",
    "whole day: last 365 d",
    "neighbours: last 28 d",
    "neighbours: last 365 d",
    "slice share of the micro-grid's incidents (shrunk)",
    "near repeat (7 d half-life, 100 m)",
    "station: last 28 d / last 365 d",
    "season: sin",
    "season: cos",
    "slice",
)

#: The first day of the refit calendar (a Monday): refit days are this plus multiples of
#: ``refit_days``, the same whatever the data.
_EPOCH = dt.date(2000, 1, 3).toordinal()

#: Training origins a model needs; with fewer the forecast is the prior counts.
MIN_TRAIN_ORIGINS = 8


def features(history: History, origins: np.ndarray, horizon_days: int) -> np.ndarray:
    """``(origins, slices, cells, len(FEATURES))``: the rows' features, from before each origin.

    Parameters
    ----------
    history
        The station's history (counts, or severity-weighted counts when it is
        :func:`~gridplan.forecast.station.weighted`).
    origins
        Day indices.
    horizon_days
        The horizon forecast (the season is that of its middle day).
    """
    o = np.asarray(origins, dtype=np.int64)
    n_o, n_s, n_c = len(o), len(history.slice_ids), len(history.cells)
    w = {d: history.window(o, d).astype(float) for d in (7, 28, 91, 365)}
    total = history.totals(o).astype(float)
    years = np.maximum(np.clip(o, 1, history.days), 1)[:, None, None] / 365.0
    nb = history.neighbours()
    whole = total[:, :1]
    station = total.sum(axis=2, keepdims=True)
    share = np.divide(station, station[:, :1], out=np.zeros_like(station), where=station > 0)
    near = history.decayed(o, 7.0) @ history.kernel(100.0).T
    s28 = w[28].sum(axis=2, keepdims=True)
    s365 = w[365].sum(axis=2, keepdims=True)
    day = np.array([history.day(int(k)).toordinal() for k in o]) + horizon_days / 2
    angle = 2 * np.pi * (day % 365.25) / 365.25
    shape = (n_o, n_s, n_c)
    cols = [
        np.log1p(w[7]),
        np.log1p(w[28]),
        np.log1p(w[91]),
        np.log1p(w[365]),
        np.log1p(total / years),
        np.broadcast_to(np.log1p(w[28][:, :1]), shape),
        np.broadcast_to(np.log1p(w[365][:, :1]), shape),
        np.log1p(w[28] @ nb.T),
        np.log1p(w[365] @ nb.T),
        (total + 5.0 * share) / (whole + 5.0),
        np.log1p(near),
        np.broadcast_to(np.log((s28 + 1.0) / (s365 * 28 / 365 + 1.0)), shape),
        np.broadcast_to(np.sin(angle)[:, None, None], shape),
        np.broadcast_to(np.cos(angle)[:, None, None], shape),
        np.broadcast_to(np.arange(n_s, dtype=float)[None, :, None], shape),
    ]
    return np.stack(cols, axis=-1)


@dataclasses.dataclass(frozen=True)
class PoissonLearned(_Base):
    """A Poisson model of the next ``horizon_days`` learned from the station's earlier weeks.

    Parameters
    ----------
    horizon_days
        The horizon it forecasts (and is trained on).
    learner
        ``"boosting"`` (gradient-boosted trees, Poisson loss) or ``"glm"`` (a Poisson GLM on
        the same features, the slice one-hot).
    refit_days
        Models are refitted every ``refit_days`` (on a fixed calendar).
    train_days
        The training origins: weekly, over the ``train_days`` before the refit day.

    Examples
    --------
    >>> PoissonLearned(7).label
    'learned boosting 7d'
    """

    horizon_days: int = 7
    learner: str = "boosting"
    refit_days: int = 28
    train_days: int = 1095
    severity: bool = False
    kind = "learned"

    def __post_init__(self):
        for name, example in (("horizon_days", 7), ("refit_days", 28), ("train_days", 1095)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                msg = f"{name}={value!r} must be a positive whole number of days, e.g. {example}"
                raise InputError(msg)
        if self.learner not in ("boosting", "glm"):
            msg = f"learner={self.learner!r}: use 'boosting' or 'glm'"
            raise InputError(msg)

    @property
    def label(self) -> str:
        """A short name with the parameters."""
        sev = ", severity" if self.severity else ""
        return f"learned {self.learner} {self.horizon_days}d{sev}"

    def fit_many(self, history: History, origins: np.ndarray) -> np.ndarray:
        """``(origins, slices, cells)`` forecasts, each by the model of its refit day."""
        h = history.harm if self.severity else history.cum
        source = dataclasses.replace(history, cum=h, _cache={}) if self.severity else history
        o = np.asarray(origins, dtype=np.int64)
        refit = np.array([self._refit_day(history, int(k)) for k in o])
        out = np.empty((len(o), len(history.slice_ids), len(history.cells)))
        x = features(source, o, self.horizon_days)
        for r in np.unique(refit):
            rows = refit == r
            model = self._model(source, history, int(r))
            if model is None:  # too little history before the refit day: prior counts
                out[rows] = source.totals(o[rows])
                continue
            flat = x[rows].reshape(-1, x.shape[-1])
            out[rows] = model.predict(_design(flat, self.learner)).reshape(out[rows].shape)
        return out

    def _refit_day(self, history: History, origin: int) -> int:
        """Return the day index of the last refit day on or before ``origin``."""
        ordinal = history.day(origin).toordinal()
        refit = ordinal - (ordinal - _EPOCH) % self.refit_days
        return origin - (ordinal - refit)

    def _model(self, source: History, history: History, refit: int):
        key = ("learned", self, refit)
        if key not in history._cache:
            history._cache[key] = self._train(source, refit)
        return history._cache[key]

    def _train(self, source: History, refit: int):
        """Fit on weekly training origins whose horizons end by ``refit`` (None: too few)."""
        last = min(refit, source.days) - self.horizon_days
        first = max(refit - self.train_days, 28)
        t = np.arange(last, first - 1, -7)[::-1]
        if len(t) < MIN_TRAIN_ORIGINS:
            return None
        x = features(source, t, self.horizon_days).reshape(-1, len(FEATURES))
        y = source.ahead(t, self.horizon_days).reshape(-1).astype(float)
        model = _learner(self.learner)
        model.fit(_design(x, self.learner), y)
        return model


def _learner(kind: str):
    # scikit-learn is imported here, not at import time: only this method needs it.
    if kind == "glm":
        from sklearn.linear_model import PoissonRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        # standardised features: L-BFGS converges in tens of steps instead of hundreds
        return make_pipeline(StandardScaler(), PoissonRegressor(alpha=1e-4, max_iter=1000))
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        loss="poisson",
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        categorical_features=[len(FEATURES) - 1],
        early_stopping=False,
        random_state=0,
    )


def _design(x: np.ndarray, learner: str) -> np.ndarray:
    """Return the design matrix: the slice one-hot for the GLM, a category for the trees."""
    if learner != "glm":
        return x
    s = x[:, -1].astype(np.int64)
    onehot = np.eye(int(s.max()) + 1 if len(s) else 1)[s][:, 1:]
    return np.hstack([x[:, :-1], onehot])
