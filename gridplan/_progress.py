"""The progress-callback protocol shared by long-running library functions.

Library functions never print. Those that take long accept ``progress``, a callable invoked as
``progress(stage, done, total)``; the CLI turns the calls into a progress bar, the web UI into a
status line, and notebooks can pass ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, int], None]


def report(progress: ProgressCallback | None, stage: str, done: int, total: int) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(stage, done, total)
