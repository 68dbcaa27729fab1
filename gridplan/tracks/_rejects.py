"""The rejected fixes of a track import: one row each, with file, row, value and reason."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gridplan._validate import TRACK_REJECT_COLUMNS


def iso(value: Any) -> str:
    """Return a time as ISO 8601 text with its offset ("" when missing)."""
    if value is None or value is pd.NaT:
        return ""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    return "" if pd.isna(stamp) else stamp.isoformat()


def reject_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return the rejects table (:data:`~gridplan._validate.TRACK_REJECT_COLUMNS`) of records.

    Each record holds ``source``, ``row``, ``patroller``, ``time``, ``column``, ``value`` and
    ``reason`` (a :class:`~gridplan._messages.Message`, kept as the object so that the web UI
    can show it in the user's language); rows are sorted by file and row.
    """
    rows = [dict(r) for r in records]
    frame = pd.DataFrame(rows, columns=list(TRACK_REJECT_COLUMNS[:-1]))
    frame["row"] = frame["row"].astype("int64")
    for col in ("source", "patroller", "time", "column", "value"):
        frame[col] = frame[col].map(lambda v: "" if v is None or v is pd.NA else str(v))
    # the Message objects themselves (pandas 3 would turn str subclasses into plain strings)
    frame["reason"] = pd.Series([r.get("reason") for r in rows], index=frame.index, dtype=object)
    frame["reason_id"] = [getattr(r, "id", "") for r in frame["reason"]]
    frame = frame.sort_values(["source", "row"], kind="stable").reset_index(drop=True)
    return frame[list(TRACK_REJECT_COLUMNS)]
