"""Every hostile corpus file of an importable kind through the web import (tests/_hostile.py).

What an officer must see for each: never a server error or a traceback; a refused file
answered 4xx with a message naming it (or, for a grid, the repairs it would need); a partly
broken table imported with its good rows and its bad ones listed; nothing stored from a
refused file.

Most files run with ``JOBS_INLINE`` (the import job runs in the test process, the same code);
the bombs and hangs (``heavy``) go through the dispatcher and a real import job process, with
its memory limit and its kill at ``IMPORT_TIME_LIMIT_S``. The row, vertex and time limits are
lowered, as ``tests/test_hostile_cli.py`` does; the shipped ones are run by
``tests/web/test_importjob.py``.
"""

from __future__ import annotations

import sqlite3

import pytest
from _hostile import build_corpus
from _hostile import cases
from _web import follow_job
from _web import login
from _web import post_upload
from _web import wait_for_job

from gridplan.web.views.imports import GRID_TYPES
from gridplan.web.views.imports import INCIDENT_TYPES

KINDS = ("incidents", "grid")
LIMITS = {"IMPORT_MAX_ROWS": 100, "IMPORT_MAX_VERTICES": 100_000, "IMPORT_TIME_LIMIT_S": 20}
LIGHT = [c for c in cases() if c.kind in KINDS and not c.heavy]
HEAVY = [c for c in cases() if c.kind in KINDS and c.heavy]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-web")
    return {case.name: path for case, path in build_corpus(folder)}


def _officer(app, web_store):
    app.config.update(LIMITS)
    client = app.test_client()
    client.get("/lang/en")
    login(client, web_store["users"][("S02", "officer")])
    return client


def _follow(client, resp):
    """The page the officer ends on: the job page goes on to the report or the form."""
    for _ in range(5):
        if resp.status_code not in (302, 303):
            return resp
        resp = client.get(resp.headers["Location"])
    return resp


def _stored(app) -> tuple[int, int]:
    con = sqlite3.connect(app.config["DATABASE"])
    try:
        grids = con.execute("SELECT COUNT(*) FROM grids").fetchone()[0]
        batches = con.execute("SELECT COUNT(*) FROM incident_batches").fetchone()[0]
    finally:
        con.close()
    return grids, batches


def _last_batch(app) -> dict:
    con = sqlite3.connect(app.config["DATABASE"])
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM incident_batches ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return dict(row)


def _accepted(kind: str, name: str) -> bool:
    types = GRID_TYPES if kind == "grid" else INCIDENT_TYPES
    return name.lower().endswith(types)


def check_page(case, app, resp, before) -> None:
    """What the officer sees at the end of the import of ``case``: see the module docstring."""
    html = resp.get_data(as_text=True)
    said = f"{case.name} ({case.what}) -> {resp.status_code}\n{html[-3000:]}"
    assert resp.status_code < 500, said
    assert "Traceback" not in html, said
    if case.expect == "refused" or not _accepted(case.kind, case.name):
        repairs = case.kind == "grid" and "/import/grid/repair" in html
        assert 400 <= resp.status_code < 500 or repairs, said
        assert case.name in html, said
        assert _stored(app) == before, said
    elif case.expect in ("ok", "partial"):
        assert resp.status_code == 200, said
        batch = _last_batch(app)
        assert _stored(app)[1] == before[1] + 1, said
        if case.rejected is not None:
            assert batch["n_rejected"] == case.rejected, said
        assert batch["n_kept"] + batch["n_rejected"] <= batch["n_rows"], said


@pytest.mark.parametrize("case", LIGHT, ids=[c.name for c in LIGHT])
def test_a_hostile_file_through_the_web_import(case, corpus, web_app, web_store):
    client = _officer(web_app, web_store)
    before = _stored(web_app)
    resp = _follow(
        client,
        follow_job(
            client, post_upload(client, case.kind, case.name, corpus[case.name].read_bytes())
        ),
    )
    check_page(case, web_app, resp, before)


@pytest.mark.parametrize("case", HEAVY, ids=[c.name for c in HEAVY])
def test_a_bomb_or_hang_through_a_real_import_job(case, corpus, web_app, web_store):
    web_app.config["JOBS_INLINE"] = False
    client = _officer(web_app, web_store)
    before = _stored(web_app)
    resp = post_upload(client, case.kind, case.name, corpus[case.name].read_bytes())
    assert resp.status_code in (302, 400), resp.get_data(as_text=True)[-2000:]
    if resp.status_code == 302:
        wait_for_job(client, resp, timeout_s=3 * LIMITS["IMPORT_TIME_LIMIT_S"] + 30)
        resp = _follow(client, client.get(resp.headers["Location"]))
    check_page(case, web_app, resp, before)
