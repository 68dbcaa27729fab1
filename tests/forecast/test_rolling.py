import dataclasses
import datetime as dt
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan import InputError
from gridplan.analysis.backtesting import select_cells
from gridplan.forecast.history import build_history
from gridplan.forecast.methods import PriorCounts
from gridplan.forecast.methods import RecencyWeighted
from gridplan.forecast.methods import RecentCounts
from gridplan.forecast.rolling import RollingResult
from gridplan.forecast.rolling import choose_methods
from gridplan.forecast.rolling import choosing_origins
from gridplan.forecast.rolling import evaluate_forecasts
from gridplan.forecast.rolling import independent_origins
from gridplan.forecast.rolling import parse_horizon
from gridplan.forecast.rolling import parse_origins
from gridplan.forecast.rolling import rolling_backtest
from gridplan.forecast.rolling import select_mask
from tests._forecast import CONFIG
from tests._forecast import incidents
from tests._forecast import row_grid


@settings(max_examples=50, deadline=None)
@given(
    areas=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=12),
    share=st.floats(0.01, 1.0),
    seed=st.integers(0, 1000),
)
def test_select_mask_takes_what_select_cells_takes(areas, share, seed):
    area = np.array(areas)
    order = np.random.default_rng(seed).permutation(len(area))
    mask = select_mask(order[None, :], area, share)[0]
    assert order[mask].tolist() == select_cells(order, area, share).tolist()


def shifting_history():
    """Until March 2024 M1 is the hot spot; from March on M3 is. Two incidents a day."""
    spec = []
    for day in range(120):
        when = dt.date(2024, 1, 1) + dt.timedelta(days=day)
        hot = 1 if when < dt.date(2024, 3, 1) else 3
        spec += [(hot, f"{when} 12:00"), (4 - (day % 2), f"{when} 20:00")]
    return build_history(row_grid(), incidents(spec), config=CONFIG)


METHODS = {"prior": PriorCounts(), "last 14d": RecentCounts(14), "recency 5d": RecencyWeighted(5)}


def test_rolling_scores_each_origin_on_its_horizon_only():
    h = shifting_history()
    origins = [dt.date(2024, 3, 15), dt.date(2024, 4, 1)]
    r = rolling_backtest(h, METHODS, origins=origins, horizon_days=7, area_shares=(0.25,))
    t = r.table.set_index(["origin", "slice", "method"])
    # 15 March: prior counts still say M1 (74 days of it against 14 of M3), 14 days say M3.
    # By day M3 holds all 7 incidents of the week: hit rate 1, PAI 4, PEI 1.
    assert t.loc[(origins[0], "day", "prior"), "hits"] == 0
    row = t.loc[(origins[0], "day", "last 14d")]
    assert (row["hits"], row["hit_rate"], row["cells"]) == (7, 1.0, 1)
    assert row["pai"] == pytest.approx(4.0, rel=1e-3) and row["pei"] == pytest.approx(1.0)
    assert t.loc[(origins[0], "all", "last 14d"), "incidents"] == 14
    # no night incidents: NaN, left out of the means
    assert math.isnan(t.loc[(origins[0], "night", "prior"), "pai"])
    means = r.mean(area_share=0.25).set_index(["slice", "method"])
    assert means.loc[("day", "last 14d"), "pai"] == pytest.approx(4.0, rel=1e-3)
    assert means.loc[("night", "prior"), "origins"] == 0


def test_choice_picks_the_planted_winner_and_respects_the_cut_off():
    h = shifting_history()
    origins = parse_origins("weekly:2024-01-15..2024-04-20", h, 7)
    r = rolling_backtest(h, METHODS, origins=origins, horizon_days=7, area_shares=(0.25,))
    chosen = choose_methods(r, area_share=0.25)
    assert chosen["day"] in ("last 14d", "recency 5d")  # both follow the move; prior does not
    # before the move every method ranks M1 first by day: a tie, so the first tried (prior)
    assert choose_methods(r, before=dt.date(2024, 2, 25), area_share=0.25)["day"] == "prior"
    with pytest.raises(InputError, match="back-test earlier origins"):
        choose_methods(r, before=dt.date(2024, 1, 2), area_share=0.25)


def planted(pai: dict[str, list[float]], origins: list[dt.date], horizon_days: int):
    """A back-test result with the given PAI per method and origin, in slice ``day``."""
    rows = [
        {"origin": o, "slice": "day", "area_share": 0.05, "method": name, "pai": v}
        for name, values in pai.items()
        for o, v in zip(origins, values, strict=True)
    ]
    methods = {name: RecencyWeighted(10.0 * (k + 1)) for k, name in enumerate(pai)}
    return RollingResult(table=pd.DataFrame(rows), methods=methods, horizon_days=horizon_days)


YEARS = [dt.date(2016, 1, 2), dt.date(2017, 1, 1), dt.date(2018, 1, 1)]


def test_a_noisy_richer_method_is_not_chosen_on_few_years():
    # the richer method has the best mean (5.3 vs 4.0) but loses to prior counts in 2017:
    # three years cannot tell it from noise, so prior counts stay. The one-standard-error
    # rule would take it (prior's mean is 1.3 below, the standard error 0.7).
    noisy = planted({"prior": [4.0, 4.0, 4.0], "rich": [6.0, 3.9, 6.0]}, YEARS, 365)
    assert choose_methods(noisy) == {"day": "prior"}
    # one that wins every year, however little, is taken
    steady = planted({"prior": [4.0, 4.0, 4.0], "rich": [4.2, 4.1, 4.3]}, YEARS, 365)
    assert choose_methods(steady) == {"day": "rich"}
    # of two that win every year, the first tried unless the best beats it every year
    both = {"prior": [4.0, 4.0, 4.0], "a": [4.2, 4.5, 4.3], "b": [4.6, 4.4, 4.9]}
    assert choose_methods(planted(both, YEARS, 365)) == {"day": "a"}
    both["a"] = [4.2, 4.1, 4.3]
    assert choose_methods(planted(both, YEARS, 365)) == {"day": "b"}
    # a single origin tells nothing
    one = planted({"prior": [4.0], "rich": [9.0]}, YEARS[:1], 365)
    assert choose_methods(one) == {"day": "prior"}


def test_overlapping_horizons_count_as_fewer_origins():
    weekly = [dt.date(2017, 1, 2) + dt.timedelta(days=7 * k) for k in range(52)]
    assert independent_origins(weekly, 7) == 52
    assert independent_origins(weekly, 28) == pytest.approx(13)
    assert independent_origins(weekly, 365) == pytest.approx(52 * 7 / 365)
    # 52 weekly origins of a 365-day horizon are about one year of evidence: the richer
    # method wins 51 of them by a wide margin, the one-standard-error rule over 52 would
    # take it; the few-origins rule does not.
    rich = [5.0] * 51 + [3.9]
    result = planted({"prior": [4.0] * 52, "rich": rich}, weekly, 365)
    assert choose_methods(result) == {"day": "prior"}
    assert choose_methods(dataclasses.replace(result, horizon_days=7)) == {"day": "rich"}


def test_long_horizons_are_chosen_on_earlier_horizons_that_do_not_overlap():
    first = dt.date(2015, 1, 1)
    days = choosing_origins(dt.date(2019, 1, 1), 365, first_day=first)
    assert days == YEARS  # each with a year of history before it, horizons end by 2019
    assert all(b - a >= dt.timedelta(days=365) for a, b in itertools.pairwise(days))
    weekly = choosing_origins(dt.date(2019, 1, 1), 7, first_day=first)
    assert len(weekly) == 52 and weekly[-1] == dt.date(2018, 12, 25)
    assert choosing_origins(dt.date(2016, 6, 1), 365, first_day=first) == []


def test_evaluation_chooses_on_earlier_origins_and_reports_later_ones():
    h = shifting_history()
    report = parse_origins("weekly:2024-03-20..2024-04-20", h, 7)
    ev = evaluate_forecasts(h, horizon_days=7, origins=report, methods=METHODS, area_share=0.25)
    assert max(ev.choose_origins) + dt.timedelta(days=7) <= min(ev.report_origins)
    assert ev.chosen["day"] in ("last 14d", "recency 5d")
    figures = ev.figures().set_index("slice")
    assert figures.loc["day", "pai"] == pytest.approx(4.0, rel=1e-3)
    assert figures.loc["day", "pai_prior"] == 0.0  # prior counts still point at M1
    summary = ev.summary()
    assert summary["chosen"]["day"]["spec"]["kind"] in ("recent", "recency")
    assert "CHOSEN" in ev.to_text() and "prior" in ev.to_text()


def test_parse_horizon_and_origins():
    h = shifting_history()
    assert parse_horizon("7d") == 7 and parse_horizon("365d") == 365 and parse_horizon("10") == 10
    with pytest.raises(InputError, match="7d, 28d, 365d"):
        parse_horizon("a week")
    days = parse_origins("weekly:2024-02-01..2024-02-29", h, 7)
    assert days == [dt.date(2024, 2, d) for d in (1, 8, 15, 22, 29)]
    # a count: the last N weekly origins whose horizon ends by the day after the history
    last = parse_origins("3", h, 7)
    assert len(last) == 3 and last[-1] + dt.timedelta(days=7) == h.day(h.days)
    # origins whose horizon runs past the history are dropped; none left is an error
    assert parse_origins("daily:2024-04-20..2024-05-30", h, 7)[-1] == dt.date(2024, 4, 23)
    with pytest.raises(InputError, match="pick earlier origins"):
        parse_origins("weekly:2025-01-01..2025-02-01", h, 7)
    with pytest.raises(InputError, match=r"weekly:START\.\.END"):
        parse_origins("every monday", h, 7)
