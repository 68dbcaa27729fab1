"""Exception and warning hierarchy.

Every error gridplan raises derives from :class:`GridplanError`, so callers (the CLI, the web
UI, notebooks) can catch one type. Subclasses also inherit the matching builtin so that code
written against ``ValueError`` keeps working. Messages say what was wrong, show the value and
say how to fix it.
"""

from __future__ import annotations


class GridplanError(Exception):
    """Base class of every error raised by gridplan."""


class InputError(GridplanError, ValueError):
    """An input file or table cannot be read or has the wrong shape."""


class CRSError(GridplanError, ValueError):
    """A coordinate reference system is missing, unknown or unsuitable."""


class ConfigError(GridplanError, ValueError):
    """The station configuration is invalid."""


class ValidationError(GridplanError, ValueError):
    """A 1+5+N grid failed validation; ``report`` holds every problem found."""

    def __init__(self, msg: str, report=None):
        super().__init__(msg)
        self.report = report


class InfeasiblePlanError(GridplanError):
    """A patrol plan cannot satisfy its hard constraints."""


class GridplanWarning(UserWarning):
    """A recoverable problem: the result is usable but the user should know."""
