"""The web UI's Chinese catalogue: complete, compiled, placeholders intact, and used by the pages.

A new English msgid without a Chinese translation fails here with the list of what is missing
and the command that updates the catalogue.
"""

from __future__ import annotations

import html as html_lib
import importlib.util
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from _web import login
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "update_translations.py"
COMMAND = "python scripts/update_translations.py"


def _script():
    spec = importlib.util.spec_from_file_location("update_translations", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    """``scripts/update_translations.py`` as a module (its extraction and paths)."""
    return _script()


@pytest.fixture(scope="module")
def zh(script):
    """The committed Chinese ``.po`` catalogue."""
    with open(script.po_path("zh"), "rb") as fileobj:
        return read_po(fileobj, locale="zh")


def _pairs(catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


# --- the catalogue ---------------------------------------------------------------------------


def test_every_msgid_in_the_sources_is_translated(script, zh):
    template = script.extract()
    assert len(template) > 100  # the mapping in babel.cfg finds the templates and the views
    po = {m.id: m for m in zh if m.id}
    missing = sorted(m.id for m in template if m.id and m.id not in po)
    untranslated = sorted(m.id for m in template if m.id in po and not po[m.id].string)
    fuzzy = sorted(m.id for m in template if m.id in po and po[m.id].fuzzy)
    problems = [f"not in the .po: {msgid!r}" for msgid in missing]
    problems += [f"untranslated: {msgid!r}" for msgid in untranslated]
    problems += [f"fuzzy (check, then remove the fuzzy flag): {msgid!r}" for msgid in fuzzy]
    assert not problems, (
        f"{script.po_path('zh').relative_to(ROOT)} is out of date with the sources:\n  "
        + "\n  ".join(problems)
        + f"\nRun `{COMMAND}`, translate the empty and fuzzy entries, then run it again."
    )


def test_babel_cfg_maps_the_python_views_and_every_template(script):
    found = {file for m in script.extract() for file, _line in m.locations}
    templates = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "gridplan" / "web" / "templates").rglob("*.html")
        if "_(" in p.read_text(encoding="utf-8")
    }
    assert templates <= found, sorted(templates - found)
    assert {"gridplan/web/views/auth.py", "gridplan/web/auth.py", "gridplan/web/i18n.py"} <= found


def test_the_compiled_catalogue_matches_the_po(script, zh):
    mo = script.po_path("zh").with_suffix(".mo")
    with open(mo, "rb") as fileobj:
        committed = read_mo(fileobj)
    compiled = read_mo(io.BytesIO(script.compile_catalog(zh)))
    assert _pairs(committed) == _pairs(compiled), (
        f"{mo.relative_to(ROOT)} is not the compiled .po; run `{COMMAND}`."
    )
    assert _pairs(committed) == _pairs(zh)


# printf-style conversions as Python's % operator reads them (jinja2's newstyle gettext formats
# every template string with %, so a stray % in a translation breaks the page)
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> Counter:
    """The %-placeholders of ``text`` (``%(name)s``, ``%(mb).0f``, ``%%``), and stray ``%``."""
    found = Counter(_PLACEHOLDER.findall(text))
    stray = _PLACEHOLDER.sub("", text).count("%")
    if stray:
        found["stray %"] = stray
    return found


@pytest.mark.parametrize(
    ("msgid", "msgstr", "same"),
    [
        ("%(n)d micro-grids", "%(n)d 个微网格", True),
        ("%(mb).0f MB", "%(mb).0f MB", True),
        ("%(n)d micro-grids", "%(count)d 个微网格", False),
        ("%(n)d micro-grids", "%(n)s 个微网格", False),
        ("Page %(num)s of %(count)s", "第 %(num)s 页", False),
        ("Risk covered", "风险覆盖率 %", False),
        ("100%% done", "完成 100%%", True),
    ],
)
def test_placeholder_check(msgid, msgstr, same):
    assert (placeholders(msgid) == placeholders(msgstr)) is same


def test_every_translation_keeps_its_placeholders(zh):
    bad = [
        f"{m.id!r} -> {m.string!r}"
        for m in zh
        if m.id and m.string and placeholders(m.id) != placeholders(m.string)
    ]
    assert not bad, "placeholders differ from the msgid's:\n  " + "\n  ".join(bad)


# --- the pages -------------------------------------------------------------------------------


def visible_texts(page: str) -> set[str]:
    """Text between tags (scripts and styles removed), unescaped and stripped."""
    page = re.sub(r"<(script|style|template)\b.*?</\1>", "", page, flags=re.S)
    return {html_lib.unescape(t).strip() for t in re.findall(r">([^<]+)<", page)} - {""}


def shows(page: str, text: str) -> bool:
    """Whether ``text`` is part of the page's visible text."""
    return any(text in t for t in visible_texts(page))


def officer(client, web_store, lang):
    client.get(f"/lang/{lang}")
    resp = login(client, web_store["users"][("S01", "officer")])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def pages(web_store):
    plan_id = web_store["plans"]["S01"]
    return {
        "/": ["Overview", "base grids", "micro-grids", "Latest plans", "Patrol plans"],
        f"/plans/{plan_id}": ["Risk covered", "Route sheets", "Re-plan", "Who is available"],
        "/plans/": ["New plan", "Time slices", "Plan patrols"],
    }


def test_login_page_in_chinese_by_default_and_in_english_when_chosen(client, web_store, zh):
    strings = _pairs(zh)
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    texts = visible_texts(page)
    assert {"登录", "社区警务室网格管理与巡逻规划", "用户名", "密码"} <= texts
    assert not texts & set(strings), sorted(texts & set(strings))
    # a message from Python code (gettext in auth.py)
    wrong = login(client, web_store["users"][("S01", "officer")], "not-the-password")
    assert wrong.status_code == 401 and "用户名或密码错误。" in wrong.get_data(as_text=True)

    client.get("/lang/en?next=/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    texts = visible_texts(page)
    assert {"Log in", "User name", "Password"} <= texts
    assert not texts & set(strings.values())
    wrong = login(client, web_store["users"][("S01", "officer")], "not-the-password")
    assert "Wrong user name or password." in wrong.get_data(as_text=True)


def test_an_english_browser_gets_english(web_app):
    client = web_app.test_client()
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "User name" in visible_texts(page)


def test_pages_speak_chinese(client, web_store, zh):
    strings = _pairs(zh)
    officer(client, web_store, "zh")
    for path, msgids in pages(web_store).items():
        resp = client.get(path)
        assert resp.status_code == 200, path
        page = resp.get_data(as_text=True)
        assert '<html lang="zh-CN">' in page, path
        texts = visible_texts(page)
        assert {strings[m] for m in msgids} <= texts, (path, {strings[m] for m in msgids} - texts)
        # no English UI text left on the page
        assert not texts & set(strings), (path, sorted(texts & set(strings)))
    assert "概览" in visible_texts(client.get("/").get_data(as_text=True))
    plan = client.get(f"/plans/{web_store['plans']['S01']}").get_data(as_text=True)
    assert {"风险覆盖率", "重新规划"} <= visible_texts(plan)


def test_pages_speak_english(client, web_store, zh):
    chinese = set(_pairs(zh).values())
    officer(client, web_store, "en")
    for path, msgids in pages(web_store).items():
        page = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in page, path
        texts = visible_texts(page)
        assert set(msgids) <= texts, (path, set(msgids) - texts)
        assert not texts & chinese, (path, sorted(texts & chinese))


# --- route sheets ----------------------------------------------------------------------------


@pytest.mark.parametrize(("ui", "sheet"), [("zh", "en"), ("en", "zh"), ("zh", "zh"), ("en", "en")])
def test_route_sheets_in_either_language_whatever_the_ui_speaks(client, web_store, zh, ui, sheet):
    strings = _pairs(zh)
    officer(client, web_store, ui)
    plan_id = web_store["plans"]["S01"]
    resp = client.get(f"/plans/{plan_id}/sheets?lang={sheet}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    texts = visible_texts(page)
    english = ["Patrol route sheet", "Micro-grid", "Nearest street", "Station phone", "Done"]
    if sheet == "zh":
        assert '<html lang="zh-CN">' in page
        assert all(shows(page, strings[m]) for m in english), texts
        assert shows(page, "巡逻路线单")
        assert not texts & set(strings), sorted(texts & set(strings))
    else:
        assert '<html lang="en">' in page
        assert all(shows(page, m) for m in english), texts
        assert not texts & set(strings.values()), sorted(texts & set(strings.values()))
    # the UI around it keeps its language
    overview = client.get("/").get_data(as_text=True)
    assert ('<html lang="zh-CN">' if ui == "zh" else '<html lang="en">') in overview


def test_route_sheets_follow_the_ui_without_a_lang(client, web_store):
    officer(client, web_store, "en")
    page = client.get(f"/plans/{web_store['plans']['S01']}/sheets").get_data(as_text=True)
    assert shows(page, "Patrol route sheet") and not shows(page, "巡逻路线单")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sheets_outside_flask_find_the_committed_catalogue(zh, lang):
    from gridplan.sheets.route_sheets import render_sheets_html

    page = render_sheets_html([], lang=lang)
    msgid = "No deployed routes to print."
    expected = _pairs(zh)[msgid] if lang == "zh" else msgid
    assert expected in visible_texts(page)
    assert ("打印" if lang == "zh" else "Print") in visible_texts(page)


# --- messages of the library (gridplan._messages) ----------------------------------------------


def _message_templates():
    import importlib

    from gridplan import _messages

    for name in (
        *_messages.MESSAGE_MODULES,
        "gridplan.web.jobs",
        "gridplan.web.store",
    ):
        importlib.import_module(name)
    # ids of tests and doctests ("test.", "doc.") are not the library's
    return {k: t for k, t in _messages.templates().items() if not k.startswith(("test.", "doc."))}


def test_every_library_message_has_a_chinese_translation_with_its_placeholders(zh):
    templates = _message_templates()
    assert len(templates) > 100
    strings = _pairs(zh)
    missing = sorted(f"{t.id}: {t.text!r}" for t in templates.values() if t.text not in strings)
    assert not missing, "messages without a Chinese translation:\n  " + "\n  ".join(missing)
    bad = [
        f"{t.id}: {t.text!r} -> {strings[t.text]!r}"
        for t in templates.values()
        if placeholders(t.text) != placeholders(strings[t.text])
    ]
    assert not bad, "placeholders differ:\n  " + "\n  ".join(bad)


def test_every_message_template_is_extracted_and_every_defining_module_is_known(script):
    from gridplan import _messages

    extracted = {m.id for m in script.extract() if m.id}
    templates = _message_templates()
    assert {t.text for t in templates.values()} <= extracted
    # a module that defines messages must be importable by lookup() (or be a web module,
    # which the app factory imports), else a stored id would not resolve in a fresh process
    defining = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "gridplan").rglob("*.py")
        if "define(" in p.read_text(encoding="utf-8") and "/web/" not in p.as_posix()
    }
    assert defining <= set(_messages.MESSAGE_MODULES), defining - set(_messages.MESSAGE_MODULES)


def test_a_chinese_message_renders_with_its_parameters_and_nested_words(zh):
    from gridplan.geo.validate import _M
    from gridplan.geo.validate import _what

    strings = _pairs(zh)
    message = _M["gap"](
        what=_what("base"),
        id="S01-B1",
        area="12.0 m2",
        share="3.0%",
        children=_what("micro", plural=True),
        near="",
    )
    assert (
        message == "base grid S01-B1: 12.0 m2 (3.0% of its area) is not covered by its micro-grids"
    )
    chinese = message.render(lambda text: strings.get(text, text))
    assert chinese == "基础网格 S01-B1：有 12.0 m2（占其面积的 3.0%）未被其微网格覆盖"
