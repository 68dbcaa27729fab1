import datetime as dt
import math

import numpy as np
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
from gridplan.forecast.rolling import choose_methods
from gridplan.forecast.rolling import evaluate_forecasts
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
