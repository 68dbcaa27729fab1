"""The settings of track cleaning, presence and compliance: one frozen :class:`TrackParams`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define

#: Fastest credible speed per mode, metres a second. Walking is 1.2-1.5 m/s; 3 m/s leaves room
#: for a run after someone. A bicycle rarely passes 8 m/s in a town, an e-bike (电动自行车,
#: 25 km/h by law in China) 10 m/s with an allowance, a car 30 m/s (108 km/h) on urban roads.
MAX_SPEED_MPS = MappingProxyType({"walk": 3.0, "bicycle": 8.0, "ebike": 10.0, "car": 30.0})

_E_MODE = define(
    "tracks.unknown_mode",
    N_("mode %(mode)r is not one of %(modes)s; give the way the patroller moved"),
)
_E_VALUE = define(
    "tracks.bad_param",
    N_("TrackParams.%(name)s = %(value)r; it must be %(rule)s"),
)


@dataclasses.dataclass(frozen=True)
class TrackParams:
    """How tracks are cleaned, turned into presence, and held against a plan.

    Attributes
    ----------
    max_speed_mps
        Mode (``walk``, ``bicycle``, ``ebike``, ``car``) -> the fastest credible speed in
        m/s: a fix that could only be reached faster is a jump of the position and is
        rejected (the rest of the track is kept).
    max_accuracy_m
        Worst accuracy accepted, metres (the radius a phone reports, or GPX ``hdop`` x 5 m);
        a fix reported less accurate is rejected. Fixes without an accuracy are kept.
    assumed_accuracy_m
        The accuracy a fix without one is taken to have in the speed test: a fix may be this
        far off, so two fixes may seem up to twice this distance further apart.
    reanchor_fixes
        After a jump, this many fixes in a row that agree with each other (each within
        reach of the one before) are a real move (a ride in a car, a phone switched off):
        the track carries on from them instead of rejecting them all.
    max_gap_s
        Longest time between two fixes that presence interpolates across; a longer gap is
        unknown time, reported as such.
    coarse_interval_s
        Median time between fixes above which a track is flagged as coarse: presence per
        micro-grid then misses or invents minutes near the edges.
    early_min, after_min
        A stop's presence is counted from ``early_min`` minutes before its planned arrival
        to ``after_min`` minutes after its planned departure (and never into the window of
        the patroller's next visit of the same micro-grid).
    late_min
        A stop is ``late`` when the patroller arrived more than this many minutes after
        the planned arrival.
    visit_share
        A stop counts as made when the presence in its window reaches this share of its
        planned dwell; less is ``missed``.
    tracked_share
        A stop's window must be covered by the track (fixes within ``max_gap_s`` of each
        other, or check-ins) for at least this share, else its status is ``no_track``.

    Raises
    ------
    InputError
        On a speed, distance, time or share out of range (the message names the field).

    Examples
    --------
    >>> params = TrackParams()
    >>> params.speed_for("walk"), params.max_accuracy_m, params.max_gap_s
    (3.0, 50.0, 120.0)
    >>> TrackParams(max_gap_s=60).max_gap_s
    60
    """

    max_speed_mps: Mapping[str, float] = dataclasses.field(default_factory=lambda: MAX_SPEED_MPS)
    max_accuracy_m: float = 50.0
    assumed_accuracy_m: float = 15.0
    reanchor_fixes: int = 3
    max_gap_s: float = 120.0
    coarse_interval_s: float = 30.0
    early_min: float = 10.0
    after_min: float = 30.0
    late_min: float = 5.0
    visit_share: float = 0.5
    tracked_share: float = 0.5

    def __post_init__(self) -> None:
        speeds = dict(self.max_speed_mps)
        for mode, speed in speeds.items():
            _positive(f"max_speed_mps[{mode!r}]", speed)
        object.__setattr__(self, "max_speed_mps", MappingProxyType(speeds))
        for name in ("max_accuracy_m", "max_gap_s", "coarse_interval_s"):
            _positive(name, getattr(self, name))
        for name in ("assumed_accuracy_m", "early_min", "after_min", "late_min"):
            _positive(name, getattr(self, name), zero=True)
        for name in ("visit_share", "tracked_share"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 1:
                raise InputError(_E_VALUE(name=name, value=value, rule="in (0, 1]"))
        if not isinstance(self.reanchor_fixes, int) or self.reanchor_fixes < 2:
            rule = "a whole number >= 2"
            raise InputError(_E_VALUE(name="reanchor_fixes", value=self.reanchor_fixes, rule=rule))

    def speed_for(self, mode: str) -> float:
        """Return the fastest credible speed of ``mode`` in m/s.

        Raises
        ------
        InputError
            If ``mode`` is not a key of :attr:`max_speed_mps`.
        """
        try:
            return float(self.max_speed_mps[mode])
        except KeyError:
            modes = ", ".join(self.max_speed_mps)
            raise InputError(_E_MODE(mode=mode, modes=modes)) from None


def _positive(name: str, value: object, *, zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        rule = "a number >= 0" if zero else "a number > 0"
        raise InputError(_E_VALUE(name=name, value=value, rule=rule))


__all__ = ["MAX_SPEED_MPS", "TrackParams"]
