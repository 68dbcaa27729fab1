"""Messages with stable ids: English for the CLI and Python, any language for the web UI.

What a reader, validator or job tells the user (a rejected row's reason, a grid problem and
its fix, an import warning, a job error) is a :class:`Message`: a stable ``id`` plus
``params``, made from a :class:`MessageTemplate` defined next to the code that uses it::

    TIME_MISSING = define("incidents.time_missing", N_("time is missing"))
    TOO_MANY = define("tables.fields", N_("the line has %(n)d fields but the header has %(m)d"))
    reason = TOO_MANY(n=7, m=5)

A message *is* its English text (``Message`` subclasses :class:`str`, as
:class:`markupsafe.Markup` does), so the CLI, the Python API and every ``in``/``==`` test
see exactly the text they saw before. The web UI renders it in the page's language with
:meth:`Message.render` (the template through gettext, then the parameters), and stores it as
:meth:`Message.to_dict` so that it can be shown in either language later.

Templates are %-format strings with named placeholders (``%(n)d``), the gettext convention:
``N_`` marks them for Babel (``babel.cfg``, ``scripts/update_translations.py``), and the
Chinese catalogue must keep the same placeholders (``tests/test_i18n.py``). A parameter that
is itself a message (an enumeration such as a grid level) is translated too; any other
parameter (a column name, a file, a figure) is shown as given. :func:`listing` joins several
messages into one (``a, b and 3 more``).

Advice that only fits one front end (``--column lon=经度`` on the command line) is a nested
message of its own id, so that another front end can say what fits it instead:
:meth:`Message.swap` remakes the nested messages of the ids it is given (the web UI points to
its forms; :data:`gridplan.web.i18n.WEB_ADVICE`).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

#: Library modules that define message templates; :func:`lookup` imports them so that a
#: stored message id resolves in a fresh process (the web UI's modules are imported by its
#: app factory).
MESSAGE_MODULES = (
    "gridplan._messages",
    "gridplan.geo._columns",
    "gridplan.io.vector",
    "gridplan.io.limits",
    "gridplan.geo._tables",
    "gridplan.geo._text",
    "gridplan.geo.crs",
    "gridplan.geo.grid",
    "gridplan.geo.incidents",
    "gridplan.geo.validate",
    "gridplan.routing.alerts",
    "gridplan.routing.feedback",
    "gridplan.routing.request",
    "gridplan.routing.problem",
    "gridplan.routing.plan",
    "gridplan.routing.targets",
    "gridplan.io.plan_export",
    "gridplan.analysis.evaluation",
    "gridplan.sheets.route_sheets",
    "gridplan.geo.tables",
    "gridplan.tracks.params",
    "gridplan.tracks._gpx",
    "gridplan.tracks.clean",
    "gridplan.tracks.fixes",
    "gridplan.tracks.presence",
    "gridplan.tracks.compliance",
    "gridplan.io.track_files",
)

_TEMPLATES: dict[str, MessageTemplate] = {}
_NAMES = re.compile(r"%\((\w+)\)")


def N_(text: str) -> str:
    """Mark ``text`` for Babel's extraction and return it unchanged."""
    return text


@dataclasses.dataclass(frozen=True)
class MessageTemplate:
    """A message's stable ``id`` and English ``text`` (a %-format string with named fields).

    Call it with the parameters to make a :class:`Message`.

    Examples
    --------
    >>> FIELDS = define("doc.fields", N_("the line has %(n)d fields"))
    >>> FIELDS(n=7)
    Message('doc.fields', {'n': 7})
    >>> print(FIELDS(n=7))
    the line has 7 fields
    """

    id: str
    text: str

    @property
    def names(self) -> frozenset[str]:
        """The placeholder names of :attr:`text`."""
        return frozenset(_NAMES.findall(self.text))

    def __call__(self, **params: Any) -> Message:
        """Return the message with these parameters (exactly the placeholders' names)."""
        if set(params) != self.names:
            msg = (
                f"message {self.id!r} takes the parameters {sorted(self.names)}, "
                f"got {sorted(params)}"
            )
            raise TypeError(msg)
        return Message(self, params)


def define(msg_id: str, text: str) -> MessageTemplate:
    """Register and return the template ``msg_id`` (wrap ``text`` in :func:`N_`).

    Raises
    ------
    ValueError
        If ``msg_id`` is already defined with another text (ids are stable and unique).
    """
    known = _TEMPLATES.get(msg_id)
    if known is not None and known.text != text:
        msg = f"message id {msg_id!r} is defined twice ({known.text!r} and {text!r})"
        raise ValueError(msg)
    template = _TEMPLATES[msg_id] = MessageTemplate(msg_id, text)
    return template


def lookup(msg_id: str) -> MessageTemplate:
    """Return the template of ``msg_id``, importing :data:`MESSAGE_MODULES` if need be.

    Raises
    ------
    LookupError
        If no module defines ``msg_id`` (a message stored by another gridplan version).
    """
    if msg_id not in _TEMPLATES:
        for name in MESSAGE_MODULES:
            importlib.import_module(name)
    try:
        return _TEMPLATES[msg_id]
    except KeyError:
        msg = f"unknown message id {msg_id!r}"
        raise LookupError(msg) from None


def templates() -> dict[str, MessageTemplate]:
    """Return every template defined so far, by id (import the modules first for all)."""
    return dict(_TEMPLATES)


def _english(value: Any) -> Any:
    return str(value) if isinstance(value, Message) else value


def _plain(value: Any) -> Any:
    """Return a NumPy scalar as the Python value (so the params stay JSON-serialisable)."""
    return value.item() if type(value).__module__ == "numpy" and hasattr(value, "item") else value


class Message(str):
    """A message for the user: its English text, with the ``id`` and ``params`` it came from.

    Make one by calling a :class:`MessageTemplate`. ``str(message)`` is the English text.

    Attributes
    ----------
    id
        The template's stable id, e.g. ``"incidents.time_missing"``.
    params
        The values of the placeholders (read-only); a value may itself be a message.
    """

    id: str
    params: Mapping[str, Any]

    def __new__(cls, template: MessageTemplate, params: Mapping[str, Any]) -> Message:
        """Render ``template`` in English with ``params``."""
        params = {k: _plain(v) for k, v in params.items()}
        self = super().__new__(cls, template.text % {k: _english(v) for k, v in params.items()})
        object.__setattr__(self, "id", template.id)
        object.__setattr__(self, "params", MappingProxyType(params))
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        msg = "Message is immutable"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        return f"Message({self.id!r}, {dict(self.params)!r})"

    def __reduce__(self):
        return _rebuild, (self.id, dict(self.params))

    @property
    def template(self) -> MessageTemplate:
        """The template this message was made from."""
        return _TEMPLATES[self.id]

    def render(self, gettext: Callable[[str], str]) -> str:
        """Return the text in the language of ``gettext`` (e.g. a catalogue's ``ugettext``).

        The template goes through ``gettext``; parameters that are messages are rendered the
        same way, the others are filled in as they are.
        """
        values = {
            k: v.render(gettext) if isinstance(v, Message) else v for k, v in self.params.items()
        }
        return gettext(self.template.text) % values

    def swap(self, templates: Mapping[str, MessageTemplate]) -> Message:
        """Return the message with the parts of the ids in ``templates`` made from those instead.

        Each nested message (and the message itself) whose id is a key of ``templates`` is made
        again from that template, with the parameters it names (a subset of the original's).
        A front end uses it to replace advice meant for another one.

        Examples
        --------
        >>> CLI = define("doc.fix.cli", N_("pass --crs %(crs)s"))
        >>> FORM = define("doc.fix.form", N_("enter %(crs)s in the CRS field"))
        >>> FAILED = define("doc.failed", N_("no CRS; %(fix)s"))
        >>> print(FAILED(fix=CLI(crs="EPSG:4547")).swap({CLI.id: FORM}))
        no CRS; enter EPSG:4547 in the CRS field
        """
        params = {
            k: v.swap(templates) if isinstance(v, Message) else v for k, v in self.params.items()
        }
        template = templates.get(self.id, self.template)
        return template(**{k: params[k] for k in template.names})

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"id": ..., "params": {...}}`` (JSON-serialisable; nested messages too)."""
        return {
            "id": self.id,
            "params": {
                k: v.to_dict() if isinstance(v, Message) else v for k, v in self.params.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Rebuild a message from :meth:`to_dict`'s output.

        Raises
        ------
        LookupError
            If the id is unknown to this gridplan version.
        """
        params = {
            k: cls.from_dict(v) if isinstance(v, Mapping) and "id" in v else v
            for k, v in (data.get("params") or {}).items()
        }
        return lookup(str(data["id"]))(**params)


def _rebuild(msg_id: str, params: dict[str, Any]) -> Message:
    return lookup(msg_id)(**params)


# --------------------------------------------------------------------------------------------
# enumerations shown inside other messages

#: Grid levels as words in a sentence ("micro-grid S01-B1-M001 has no geometry").
LEVELS = {
    "station": define("level.station", N_("station")),
    "base": define("level.base", N_("base grid")),
    "micro": define("level.micro", N_("micro-grid")),
}
#: The same, plural ("micro-grids S01-B1-M001 and S01-B1-M002 overlap").
LEVELS_PLURAL = {
    "station": define("level.station.plural", N_("stations")),
    "base": define("level.base.plural", N_("base grids")),
    "micro": define("level.micro.plural", N_("micro-grids")),
}


# --------------------------------------------------------------------------------------------
# lists of messages (a list of plain values is joined as text by the caller)

_COMMAS = define("list.comma", N_("%(first)s, %(rest)s"))
_SEMICOLONS = define("list.semicolon", N_("%(first)s; %(rest)s"))
_MORE = define("list.more", N_("%(items)s and %(n)d more"))


def listing(items: Sequence[Any], *, semicolons: bool = False, more: int = 0) -> Message | str:
    """Join ``items`` (messages or text) into one message: ``a, b, c`` (``a; b; c``).

    ``more`` adds `` and 3 more`` for items left out. A single item is returned as it is and
    no items as ``""``; a list of messages is translated item by item and separator by
    separator (Chinese lists use 、 and ；).

    Examples
    --------
    >>> print(listing([LEVELS["base"](), LEVELS["micro"]()], more=2))
    base grid, micro-grid and 2 more
    """
    if not items:
        return ""
    join = _SEMICOLONS if semicolons else _COMMAS
    out = items[-1]
    for item in reversed(items[:-1]):
        out = join(first=item, rest=out)
    return _MORE(items=out, n=more) if more else out
