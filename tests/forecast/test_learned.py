import datetime as dt

import numpy as np
import pytest

from gridplan import InputError
from gridplan.forecast.history import build_history
from gridplan.forecast.learned import FEATURES
from gridplan.forecast.learned import PoissonLearned
from gridplan.forecast.learned import features
from gridplan.forecast.methods import PriorCounts
from gridplan.forecast.methods import method_from_dict
from gridplan.forecast.rolling import parse_origins
from gridplan.forecast.rolling import rolling_backtest
from tests._forecast import CONFIG
from tests._forecast import incidents
from tests._forecast import row_grid

START = dt.date(2022, 1, 3)
DAYS = 2 * 364


def rotating_spec(days: int = DAYS, *, block: int = 28):
    """By day the hot spot moves every ``block`` days, M1, M2, M3, M4, M1, ...: two incidents
    a day there. In the evening one incident a day goes round the four micro-grids."""
    spec = []
    for day in range(days):
        when = START + dt.timedelta(days=day)
        hot = 1 + (day // block) % 4
        spec += [(hot, f"{when} 11:00"), (hot, f"{when} 13:00")]
        spec += [(1 + day % 4, f"{when} 18:00")]
    return spec


def history_of(spec):
    last = START + dt.timedelta(days=DAYS + 30)
    return build_history(row_grid(), incidents(spec), config=CONFIG, first_day=START, last_day=last)


@pytest.fixture(scope="module")
def rotating():
    return history_of(rotating_spec())


@pytest.mark.parametrize("learner", ["boosting", "glm"])
def test_it_learns_that_this_week_follows_last_week(rotating, learner):
    """Known answer: prior counts cannot follow a moving hot spot; last week's counts can.

    Weekly origins over the second year, one micro-grid of four (25 % of the area): by day
    the hot spot of the last 7 days stays for the next 7 at three origins in four (the
    fourth starts a new block), so a forecast that learned it hits 3/4 of the incidents;
    prior counts, spread evenly over the four, hit about a quarter.
    """
    h = rotating
    origins = parse_origins("weekly:2023-01-02..2023-12-25", h, 7)
    methods = {"prior": PriorCounts(), "learned": PoissonLearned(7, learner, refit_days=182)}
    r = rolling_backtest(h, methods, origins=origins, horizon_days=7, area_shares=(0.25,))
    means = r.mean(area_share=0.25).set_index(["slice", "method"])
    learned = means.loc[("day", "learned"), "hit_rate"]
    assert learned >= 0.7
    assert learned > 1.5 * means.loc[("day", "prior"), "hit_rate"]
    # mid-block, the forecast ranks the current hot spot first
    mid = h.day_index(START + dt.timedelta(days=28 * 20 + 14))
    fitted = methods["learned"].fit(h, mid)
    assert int(np.argmax(fitted[h.slice_ids.index("day")])) == (20 % 4)


@pytest.mark.parametrize("learner", ["boosting", "glm"])
def test_the_learned_forecast_never_sees_the_origin_day_or_later(learner):
    """Incidents on and after the origin change neither the features nor the model."""
    spec = rotating_spec(500)
    origin = START + dt.timedelta(days=400)
    later = [*spec, (3, f"{origin} 00:30"), (3, f"{origin} 12:00"), (4, "2023-07-01 12:00")]
    method = PoissonLearned(7, learner)
    before = method.fit(history_of(spec), origin)
    after = method.fit(history_of(later), origin)
    assert np.array_equal(before, after)
    # the model really was fitted (not the prior-count fallback), and a day later it sees them
    assert not np.allclose(before, PriorCounts().fit(history_of(spec), origin))
    next_day = origin + dt.timedelta(days=1)
    assert not np.array_equal(
        method.fit(history_of(spec), next_day), method.fit(history_of(later), next_day)
    )


def test_the_model_is_refitted_on_a_fixed_calendar_and_trained_before_it(rotating):
    method = PoissonLearned(7, "glm", refit_days=28)
    days = [rotating.day_index(START + dt.timedelta(days=k)) for k in range(400, 460)]
    refit = [method._refit_day(rotating, d) for d in days]
    assert all(r <= d for r, d in zip(refit, days, strict=True))
    assert len(set(refit)) in (2, 3)  # 60 days span two or three 28-day steps
    # the calendar does not move with the data: a history starting later agrees on dates
    other = history_of(rotating_spec()[30:])
    d = days[0]
    assert rotating.day(method._refit_day(rotating, d)) == other.day(
        method._refit_day(other, other.day_index(rotating.day(d)))
    )


def test_features_are_what_they_say(rotating):
    h = rotating
    o = np.array([h.day_index("2023-03-01")])
    x = features(h, o, 7)
    assert x.shape == (1, len(h.slice_ids), 4, len(FEATURES))
    assert np.allclose(x[..., 0], np.log1p(h.window(o, 7)))
    assert np.allclose(x[..., 3], np.log1p(h.window(o, 365)))
    nb = h.neighbours()
    assert nb.tolist() == [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
    assert np.allclose(x[..., 7], np.log1p(h.window(o, 28) @ nb.T))
    assert x[0, 2, 0, -1] == 2.0  # the slice column is the slice's index


def test_learned_parameters_round_trip_and_are_checked():
    m = PoissonLearned(28, "glm", refit_days=91)
    assert method_from_dict(m.to_dict()) == m and m.label == "learned glm 28d"
    with pytest.raises(InputError, match="learner='forest'"):
        PoissonLearned(7, "forest")
    with pytest.raises(InputError, match="refit_days=0 must be a positive whole number"):
        PoissonLearned(7, refit_days=0)
