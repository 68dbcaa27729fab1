"""Exception and warning hierarchy.

Every error gridplan raises derives from :class:`GridplanError`, so callers (the CLI, the web
UI, notebooks) can catch one type. Subclasses also inherit the matching builtin so that code
written against ``ValueError`` keeps working. Messages say what was wrong, show the value and
say how to fix it.
"""

from __future__ import annotations

from gridplan._messages import Message


class GridplanError(Exception):
    """Base class of every error raised by gridplan.

    Catch it to handle any gridplan failure in one place; the message says what was wrong,
    shows the value and says how to fix it, so it can be shown to the user as it is. The
    subclasses below also derive from the matching builtin (mostly :class:`ValueError`).

    Examples
    --------
    >>> import gridplan
    >>> try:
    ...     gridplan.load_grid("no/such/grid.geojson")
    ... except gridplan.InputError as exc:
    ...     print(exc)
    no/such/grid.geojson: file not found; check the path
    """

    @property
    def message(self) -> Message | None:
        """The error's :class:`~gridplan._messages.Message`, if it was raised with one.

        The web UI shows it in the user's language; ``str(error)`` is the English text.
        """
        first = self.args[0] if self.args else None
        return first if isinstance(first, Message) else None


class InputError(GridplanError, ValueError):
    """An input file or table cannot be read or has the wrong shape.

    Raised by the readers (:func:`~gridplan.load_grid`, :func:`~gridplan.import_incidents`,
    :func:`~gridplan.load_network`, :func:`~gridplan.load_plan`, ...) and by functions given a
    frame without the columns they need. Fix the file or the argument the message names.
    """


class ColumnError(InputError):
    """A table lacks a column gridplan needs, or a column named for a role is not in it.

    ``columns`` holds the table's headers and ``roles`` the roles (``lon``, ``time`` ...)
    that found no column, so a front end can offer a choice instead of the message: the
    web UI shows its column-mapping form, the command line suggests ``--column``.
    """

    def __init__(self, msg: str, *, columns=(), roles=()):
        super().__init__(msg)
        self.columns = tuple(str(c) for c in columns)
        self.roles = tuple(roles)


class PlanRequestError(InputError):
    """A plan request has problems; ``problems`` lists each as a message.

    Raised by :class:`~gridplan.PlanRequest` (values wrong on their own),
    :meth:`~gridplan.PlanRequest.validate` (values not of the station or its grid) and
    :func:`~gridplan.routing.request.build_request` (both). The message joins the problems
    with semicolons; a form shows them one by one in the user's language.
    """

    def __init__(self, problems):
        from gridplan._messages import listing

        self.problems = tuple(problems)
        super().__init__(listing(list(self.problems), semicolons=True))


class CRSError(GridplanError, ValueError):
    """A coordinate reference system is missing, unknown or unsuitable.

    Raised when a frame has no CRS, a CRS string is not recognised, or a geographic CRS is
    given where metres are needed. Set the CRS (``gdf.set_crs(...)``) or pass a projected one,
    as the message suggests.
    """


class ConfigError(GridplanError, ValueError):
    """The station configuration is invalid.

    Raised by :func:`~gridplan.load_config` and the config types (:class:`~gridplan.TimeSlice`,
    the roster) on an unknown key or a bad value; the message names the TOML key. Correct the
    station file.
    """


class ValidationError(GridplanError, ValueError):
    """A 1+5+N grid failed validation; ``report`` holds every problem found.

    Raised by ``ValidationReport.raise_for_errors()`` (:class:`~gridplan.ValidationReport`) when
    the grid has errors. ``report`` is that :class:`~gridplan.ValidationReport`: print its
    ``to_text()``, or repair the grid with :func:`~gridplan.fix_grid`.
    """

    def __init__(self, msg: str, report=None):
        super().__init__(msg)
        self.report = report


class InfeasiblePlanError(GridplanError):
    """A patrol plan breaks a hard constraint.

    Raised by ``CheckReport.raise_for_errors()`` (:class:`~gridplan.CheckReport`, from
    :func:`~gridplan.check_plan`) when the check found errors; ``report`` is that report. The
    planner itself does not raise it: it returns a plan whose dropped stops, metrics and
    :meth:`~gridplan.PatrolPlan.is_feasible` say what could not be done.
    """

    def __init__(self, msg: str, report=None):
        super().__init__(msg)
        self.report = report


class GridplanWarning(UserWarning):
    """A recoverable problem: the result is usable but the user should know.

    Issued through :mod:`warnings`, for example when :func:`~gridplan.load_grid` derives
    missing parent ids from overlaps, or :func:`~gridplan.backtest` scores a period that
    overlaps the fit period. Show it to the user; turn it into an error with
    ``warnings.simplefilter("error", gridplan.GridplanWarning)`` in strict pipelines.
    """
