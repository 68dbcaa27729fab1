"""Extract the web UI's text, update the Chinese catalogue and compile it.

Usage::

    python scripts/update_translations.py            # extract, update, compile
    python scripts/update_translations.py --check    # exit 1 if anything is out of date

Steps (Babel's Python API, with the mapping in ``babel.cfg`` at the repo root):

1. extract every msgid of ``gridplan/web/*.py`` (``_``, ``gettext``, ``_l``, ``lazy_gettext``),
   the message templates of the library (``N_`` in ``gridplan/_messages.py``,
   ``gridplan/geo``, ``gridplan/routing`` and the web modules) and
   ``gridplan/web/templates/**.html`` -> ``gridplan/web/translations/messages.pot``
2. update ``gridplan/web/translations/zh/LC_MESSAGES/messages.po`` from it (created if
   missing): new msgids come in untranslated, msgids close to a changed one come in marked
   fuzzy with the old translation, and msgids no longer used are dropped
3. compile that ``.po`` into ``messages.mo`` beside it (untranslated and fuzzy entries are
   left out, so the UI shows their English until someone translates them)

Then translate the empty and fuzzy entries of the ``.po`` (remove the ``#, fuzzy`` line once
checked) and run the script again to compile. ``tests/test_i18n.py`` fails while a msgid is
missing, untranslated or fuzzy. Files are only rewritten when their messages change, so a run
on an up-to-date tree leaves git clean. The directory is ``zh``: Flask-Babel looks up the
locale ``zh`` there, and so does ``gridplan.sheets.route_sheets._translations_for("zh")``.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import UTC
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "babel.cfg"
TRANSLATIONS = ROOT / "gridplan" / "web" / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh",)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
HEADER = """\
# Chinese text of the gridplan web UI.
# Made by scripts/update_translations.py; translate here, then run it again to compile.
# This file is distributed under the same license as the gridplan project (Apache-2.0).
#"""
CATALOG_HEADER = {
    "project": "gridplan",
    "version": version("gridplan"),
    "header_comment": HEADER,
    "msgid_bugs_address": "the gridplan issue tracker",
    "last_translator": "gridplan contributors",
    "language_team": "gridplan contributors",
    "fuzzy": False,
}
COMMAND = "python scripts/update_translations.py"


def po_path(locale: str) -> Path:
    """Return the ``.po`` file of ``locale``."""
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def extract(root: Path = ROOT) -> Catalog:
    """Return a template catalogue of every msgid in the sources ``babel.cfg`` maps."""
    with open(MAPPING, encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(MAPPING))
    template = Catalog(**CATALOG_HEADER)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        template.add(
            message,
            None,
            [(Path(filename).as_posix(), lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def updated(template: Catalog, locale: str, path: Path) -> Catalog:
    """Return the catalogue of ``path`` (a new one if missing) updated from ``template``."""
    if path.exists():
        with open(path, "rb") as fileobj:
            catalog = read_po(fileobj, locale=locale)
    else:
        catalog = Catalog(locale=locale, **CATALOG_HEADER)
    catalog.update(template, update_creation_date=False)
    return catalog


def _messages(catalog: Catalog) -> list[tuple]:
    """The content of ``catalog`` that matters, without header dates (to skip no-op writes)."""
    return sorted(
        (
            repr(m.id),
            repr(m.string or ""),
            m.context or "",
            sorted(m.flags),
            sorted({file for file, _line in m.locations}),
        )
        for m in catalog
        if m.id
    )


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    # file names without line numbers: editing a template elsewhere doesn't touch the catalogue
    write_po(buf, catalog, width=100, ignore_obsolete=True, include_lineno=False)
    return buf.getvalue()


def compile_catalog(catalog: Catalog) -> bytes:
    """Return the ``.mo`` of ``catalog`` (untranslated and fuzzy entries left out)."""
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _read(path: Path, locale: str | None = None) -> Catalog | None:
    if not path.exists():
        return None
    with open(path, "rb") as fileobj:
        return read_po(fileobj, locale=locale)


def run(*, check: bool = False, say=print) -> bool:
    """Extract, update and compile; return True if everything was (or now is) up to date.

    With ``check``, write nothing and say what is out of date.
    """
    template = extract()
    current = True
    old = _read(POT)
    if old is None or _messages(old) != _messages(template):
        current = False
        say(f"{POT.relative_to(ROOT)}: {len(template)} msgids" + (" (out of date)" * check))
        if not check:
            POT.write_bytes(_po_bytes(template))
    for locale in LOCALES:
        path = po_path(locale)
        catalog = updated(template, locale, path)
        old = _read(path, locale)
        if old is None or _messages(old) != _messages(catalog):
            current = False
            say(f"{path.relative_to(ROOT)}: updated" + (" (out of date)" * check))
            if not check:
                catalog.revision_date = datetime.now(UTC)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(_po_bytes(catalog))
        todo = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        for msgid in todo:
            say(f"  to translate ({locale}): {msgid!r}")
        mo = path.with_suffix(".mo")
        compiled = compile_catalog(_read(path, locale) or catalog)
        if not mo.exists() or mo.read_bytes() != compiled:
            current = False
            say(f"{mo.relative_to(ROOT)}: compiled" + (" (out of date)" * check))
            if not check:
                mo.write_bytes(compiled)
    return current


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if anything is out of date"
    )
    args = parser.parse_args(argv)
    ok = run(check=args.check)
    if args.check and not ok:
        print(f"Run `{COMMAND}` and translate the new entries.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
