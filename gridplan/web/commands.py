"""``gridplan serve``, ``users``, ``db`` ...: run the web UI, manage its logins and its store.

Flask and the servers (gunicorn, waitress) are imported inside the commands, so the rest of the
command line starts without them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click


def _instance(path: Path | None) -> Path:
    """The instance folder: --instance, else $GRIDPLAN_INSTANCE, else ./instance."""
    if path is None:
        env = os.environ.get("GRIDPLAN_INSTANCE")
        path = Path(env) if env else Path.cwd() / "instance"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _database(instance: Path) -> str:
    """The store of the commands: $GRIDPLAN_DATABASE_URL, else the instance's SQLite file."""
    return os.environ.get("GRIDPLAN_DATABASE_URL") or str(instance / "gridplan.sqlite")


@contextlib.contextmanager
def _store(instance_path: Path | None):
    """The instance's store (created if new) for a command; errors end it with exit code 2."""
    from gridplan._errors import GridplanError
    from gridplan.web.db import connect
    from gridplan.web.db import init_store

    instance = _instance(instance_path)
    database = _database(instance)
    try:
        init_store(database)
        con = connect(database)
        try:
            yield instance, con
        finally:
            con.close()
    except GridplanError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _seed_if_empty(instance: Path, data_dir: Path | None) -> None:
    """Fill a new store with the demo station, atomically: a failed seed leaves no store."""
    from gridplan.web import demo
    from gridplan.web.db import init_store

    database = instance / "gridplan.sqlite"
    if database.exists():
        init_store(database)
        if demo.has_stations(database):
            due = demo.demo_day_to_plan(database)
            if due is not None:  # a demo store of an earlier day: the phone page needs today's
                click.echo(f"demo station {due[0]}: planning today, {due[1].isoformat()}")
                _in_child(_plan_today_process, (str(database),))
            return
        click.echo(f"{database} holds no station: adding the demo station")
    else:
        click.echo("first start: loading the demo station into a new store (about a minute)")
    tmp = instance / "gridplan.sqlite.seeding"
    for leftover in instance.glob("gridplan.sqlite.seeding*"):
        leftover.unlink()
    init_store(tmp)
    _seed_in_child(tmp, instance, data_dir)
    from gridplan.web.db import connect

    con = connect(tmp)
    try:  # fold the WAL into the file before moving it into place
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()
    for side in ("-wal", "-shm"):
        Path(str(database) + side).unlink(missing_ok=True)
    tmp.replace(database)


def _seed_in_child(database: Path, instance: Path, data_dir: Path | None) -> None:
    """Seed the demo in a process of its own, so the server process stays clean.

    Seeding computes hot spots and plans (numba thread pools, OR-Tools, the solver's own
    worker processes). gunicorn forks its workers from the process that runs ``serve``, and
    a fork inherits thread pools and locks in whatever state they are in; a fresh process
    that exits before the fork leaves nothing behind.
    """
    _in_child(_seed_demo_process, (str(database), str(instance), data_dir))


def _in_child(target, args: tuple) -> None:
    """Run ``target(*args, errors)`` in a fresh process (see :func:`_seed_in_child`)."""
    import multiprocessing

    from gridplan._errors import GridplanError

    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, errors))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        msg = errors.get() if not errors.empty() else None
        raise GridplanError(
            msg or f"preparing the demo station failed (exit code {proc.exitcode}); see above"
        )


def _plan_today_process(database: str, errors) -> None:
    from gridplan._errors import GridplanError
    from gridplan.web import demo

    try:
        demo.plan_demo_today(database, say=click.echo)
    except GridplanError as exc:
        errors.put(str(exc))
        sys.exit(2)


def _seed_demo_process(database: str, instance: str, data_dir: Path | None, errors) -> None:
    from gridplan._errors import GridplanError
    from gridplan.web import demo

    try:
        demo.seed_demo(database, instance, data_dir=data_dir, say=click.echo)
    except GridplanError as exc:
        errors.put(str(exc))
        sys.exit(2)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Instance folder (store, session key, networks); default ./instance or "
    "$GRIDPLAN_INSTANCE.",
)
@click.option("--demo", is_flag=True, help="Load the bundled demo station on first start.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Server processes (default: one per core, 2 to 4, with gunicorn; 1 on Windows).",
)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
def serve(host, port, instance_path, demo, data_dir, workers, threads):
    """Run the web UI with a production server (gunicorn, or waitress on Windows)."""
    from gridplan._errors import GridplanError
    from gridplan.web import create_app
    from gridplan.web import serving
    from gridplan.web.demo import read_logins

    instance = _instance(instance_path)
    if demo and os.environ.get("GRIDPLAN_DATABASE_URL"):
        msg = (
            "--demo fills the instance folder's SQLite store; unset GRIDPLAN_DATABASE_URL to "
            "run the demo, or move a demo store into PostgreSQL with gridplan db copy"
        )
        raise click.UsageError(msg)
    try:
        if demo:
            _seed_if_empty(instance, data_dir)
        app = create_app(instance_path=str(instance))
    except GridplanError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    click.echo(f"gridplan web UI: http://{shown}:{port}/   (instance: {instance})")
    logins = read_logins(instance) if demo else []
    if logins:
        click.echo("demo logins (also in instance/demo-logins.txt):")
        for user, password, role in logins:
            click.echo(f"  {user:<8} {password:<14} {role}")
    if not app.config["SESSION_COOKIE_SECURE"]:
        click.echo("warning: session cookies are sent over plain HTTP", err=True)
    workers = workers or serving.default_workers()
    server = "gunicorn" if workers > 1 and serving.gunicorn_available() else "waitress"
    click.echo(f"server: {server}, {workers} process(es) x {threads} threads")
    serving.run(app, host=host, port=port, workers=workers, threads=threads)


@click.group("users")
def users() -> None:
    """Manage web UI logins."""


def _station_list(text: str | None) -> list[str]:
    """``"S01,S02, S03"`` -> ``["S01", "S02", "S03"]``."""
    return [s.strip() for s in (text or "").split(",") if s.strip()]


@users.command("add")
@click.argument("username")
@click.option("--station", "station_id", help="Station id, e.g. S01 (a bureau user's: its home).")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "officer", "volunteer_lead", "analyst", "patroller", "bureau"]),
)
@click.option(
    "--team", "team_id", help="Roster id of a volunteer lead's team or a patroller, e.g. V01."
)
@click.option(
    "--stations",
    "stations_text",
    help="A bureau user's stations, comma-separated, e.g. S01,S02,S03 (read-only).",
)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def users_add(
    username, station_id, role, team_id, stations_text, display_name, password_stdin, instance_path
):
    """Create a login for the web UI (the password is asked for, never given as an argument).

    A bureau user (``--role bureau --stations S01,S02``) reads those stations and nothing
    else; only this command line makes one (a station's admin cannot grant other stations).
    """
    from gridplan.web import store

    stations_given = _station_list(stations_text)
    if role == "bureau" and not stations_given:
        raise click.UsageError("a bureau user needs --stations, e.g. --stations S01,S02")
    if role != "bureau" and stations_text is not None:
        raise click.UsageError("--stations is for --role bureau; other roles have --station")
    station_id = station_id or (stations_given[0] if stations_given else None)
    if station_id is None:
        raise click.UsageError("give --station, e.g. --station S01")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with _store(instance_path) as (_instance_dir, con):
        store.add_user(
            con,
            username,
            password,
            station_id=station_id,
            role=role,
            team_id=team_id,
            display_name=display_name,
            stations=stations_given,
        )
        detail = {"role": role, **({"stations": stations_given} if stations_given else {})}
        for sid in stations_given or [station_id]:
            store.audit(con, "cli", sid, "add_user", username, detail)
    if stations_given:
        click.echo(
            f"user {username} (bureau, read-only) reads stations {', '.join(stations_given)}"
        )
    else:
        click.echo(f"user {username} ({role}) added to station {station_id}")


@users.command("stations")
@click.argument("username")
@click.argument("stations_text", metavar="STATIONS")
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def users_stations(username, stations_text, instance_path):
    """Set the stations bureau user USERNAME reads: STATIONS, comma-separated (S01,S02).

    Each station that gains or loses the user has it in its audit log.
    """
    from gridplan.web import store
    from gridplan.web.db import login_key

    with _store(instance_path) as (_instance_dir, con):
        row = con.execute(
            "SELECT * FROM users WHERE login_key=?", (login_key(username),)
        ).fetchone()
        if row is None:
            click.echo(f"Error: no user {username!r}; gridplan users add makes one", err=True)
            sys.exit(2)
        before = set(store.user_stations(con, row["id"]))
        store.set_user_stations(con, row["id"], _station_list(stations_text))
        after = store.user_stations(con, row["id"])
        for sid in sorted(before ^ set(after)):
            action = "grant_station" if sid in after else "revoke_station"
            store.audit(con, "cli", sid, action, row["username"], {"stations": list(after)})
    click.echo(f"user {row['username']} (bureau, read-only) reads stations {', '.join(after)}")


@click.group("stations")
def stations() -> None:
    """Manage the stations of the web UI's store."""


@stations.command("add")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_add(config, instance_path):
    """Add a station from its TOML config ([station] id, name, phone; roster; slices)."""
    from gridplan.web import store

    text = _read_config(config)
    with _store(instance_path) as (_instance_dir, con):
        sid = store.add_station(con, text, source=str(config))
        store.audit(con, "cli", sid, "add_station", str(config))
    click.echo(
        f"station {sid} added; now add its admin: gridplan users add NAME --station {sid} "
        "--role admin"
    )


def _read_config(config: Path) -> str:
    """The station file's text (UTF-8, at most 1 MiB); a bad file ends the command (exit 2)."""
    from gridplan._errors import ConfigError
    from gridplan.station.config import read_config_text

    try:
        return read_config_text(config)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


#: config tables whose change makes the stored hot spots stale
_HOTSPOT_TABLES = {"station", "crs", "time", "scoring", "hotspots"}


@stations.command("update")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_update(config, instance_path):
    """Replace a station's configuration (roster, slices, weights, phone) with CONFIG.

    The station is the one of CONFIG's [station] id. Its grids, incidents and plans stay;
    hot spots are recomputed when slices, scoring or the timezone changed. Incidents keep the
    category weights they were imported with.
    """
    from gridplan.web import jobs
    from gridplan.web import store

    text = _read_config(config)
    with _store(instance_path) as (_instance_dir, con):
        sid, changed = store.update_station(con, text, source=str(config))
        store.audit(
            con, "cli", sid, "update_station", str(config), {"changed": ", ".join(changed) or "-"}
        )
        run_id = jobs.hotspot_job(con, sid, "cli") if _HOTSPOT_TABLES & set(changed) else None
    what = ", ".join(f"[{k}]" for k in changed) or "nothing"
    click.echo(f"station {sid} updated from {config.name}: changed {what}")
    if run_id is not None:
        click.echo(f"hot spots recomputed with the new configuration (run {run_id})")


@stations.command("network")
@click.argument("station_id")
@click.argument("network", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
def stations_network(station_id, network, instance_path):
    """Plan the station's patrols over NETWORK (a file of `gridplan network build`).

    The file is copied into the instance folder, so the store never depends on a path
    elsewhere; earlier networks stay, plans made on them keep their fingerprint.
    """
    import shutil

    from gridplan._errors import GridplanError
    from gridplan.network.graphs import load_network
    from gridplan.web import store

    with _store(instance_path) as (instance, con):
        if store.get_station(con, station_id) is None:
            known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
            msg = f"station {station_id!r} is unknown; stations in the store: {known}"
            raise GridplanError(msg)
        net = load_network(network)
        target = instance / "networks" / f"{station_id}-{net.fingerprint[:12]}.gpkg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(network, target)
        store.add_network(
            con, station_id, str(target), fingerprint=net.fingerprint, source=network.name
        )
        store.audit(con, "cli", station_id, "add_network", network.name)
    click.echo(f"station {station_id} now plans over {network.name} ({target})")


@click.group("alerts")
def alerts() -> None:
    """Declare, list and end red/yellow/blue alerts (三色预警) on a station's micro-grids."""


_INSTANCE = click.option(
    "--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path)
)
_STATION = click.option("--station", "station_id", required=True, help="Station id, e.g. S01.")


@alerts.command("add")
@_STATION
@click.option("--level", required=True, help="red, yellow or blue.")
@click.option(
    "--cells", default="", help="Micro-grid ids, comma-separated: S01-B2-M003,S01-B2-M004."
)
@click.option(
    "--area",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A GeoJSON file of polygons (EPSG:4326): the micro-grids it overlaps are added.",
)
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), help="Active from now on.")
@click.option("--until", "until_text", help='Active until "YYYY-MM-DD HH:MM" (station time).')
@click.option("--reason", required=True, help="Why, e.g. 'robbery series on Main St'.")
@click.option("--by", "created_by", default="cli", show_default=True, help="Who declares it.")
@_INSTANCE
def alerts_add(
    station_id, level, cells, area, hours, until_text, reason, created_by, instance_path
):
    """Declare an alert from now for --hours or --until a station time; print its id."""
    import datetime as dt

    from gridplan.routing.alerts import MAX_AREA_BYTES
    from gridplan.routing.alerts import area_geojson
    from gridplan.routing.alerts import cells_in_area
    from gridplan.routing.alerts import read_area
    from gridplan.web import store

    if (hours is None) == (until_text is None):
        msg = "give how long the alert lasts: --hours 72, or --until '2024-06-10 20:00'"
        raise click.UsageError(msg)
    ids = [c.strip() for c in cells.split(",") if c.strip()]
    with _store(instance_path) as (_instance_dir, con):
        tz = store.station_config(con, station_id).tz
        starts = dt.datetime.now(tz).replace(second=0, microsecond=0)
        ends = starts + dt.timedelta(hours=hours) if hours else _station_time(until_text, tz)
        geojson = None
        if area is not None:
            with area.open("rb") as f:  # no more than the limit, whatever the file's size
                shape = read_area(f.read(MAX_AREA_BYTES + 1), source=str(area))
            grid = store.load_grid(con, store.latest_grid(con, station_id)["id"])
            ids += cells_in_area(grid, shape, source=str(area))
            geojson = area_geojson(shape)
        alert = store.add_alert(
            con,
            station_id,
            level=level.strip().lower(),
            micro_ids=ids,
            starts=starts,
            ends=ends,
            reason=reason,
            created_by=created_by,
            area=geojson,
        )
    click.echo(f"alert {alert.id} added: {_alert_line(alert)}")


def _station_time(text: str, tz):
    """``YYYY-MM-DD HH:MM`` in the station's timezone (a usage error otherwise)."""
    import datetime as dt

    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        msg = (
            f"{text!r} is not a time YYYY-MM-DD HH:MM in the station's time ({tz}), "
            "e.g. 2024-06-10 20:00"
        )
        raise click.BadParameter(msg, param_hint="--until") from None


def _alert_line(alert) -> str:
    """One line: colour, cells, window in station time (labelled), state, reason, who."""
    import datetime as dt

    def t(x):
        return x.strftime("%Y-%m-%d %H:%M")

    now = dt.datetime.now(dt.UTC)
    if alert.ended_at is not None and alert.ended_at < alert.ends:
        state = f"ended {t(alert.ended_at)} by {alert.ended_by}"
    elif alert.until <= now:
        state = "expired"
    elif alert.starts > now:
        state = "upcoming"
    else:
        state = "active"
    cells = ", ".join(alert.micro_ids[:5]) + (" ..." if len(alert.micro_ids) > 5 else "")
    return (
        f"{alert.level} {cells} {t(alert.starts)} - {t(alert.ends)} ({alert.starts.tzinfo}) "
        f"[{state}] {alert.reason} (by {alert.created_by})"
    )


@alerts.command("list")
@_STATION
@click.option("--all", "show_all", is_flag=True, help="Past alerts too, not only active ones.")
@click.option("--json", "as_json", is_flag=True, help="JSON, for gridplan plan --alerts FILE.")
@_INSTANCE
def alerts_list(station_id, show_all, as_json, instance_path):
    """List the station's active alerts (times in the station's timezone)."""
    import datetime as dt

    from gridplan.routing.alerts import alerts_to_json
    from gridplan.web import store

    with _store(instance_path) as (_instance_dir, con):
        now = None if show_all else dt.datetime.now(dt.UTC)
        items = store.list_alerts(con, station_id, start=now)
    if as_json:
        click.echo(alerts_to_json(items))
        return
    for a in items:
        click.echo(f"{a.id:>4}  {_alert_line(a)}")
    if not items:
        click.echo("no alerts" if show_all else "no active alerts (--all shows past ones)")


@alerts.command("end")
@click.argument("alert_id")
@_STATION
@click.option("--by", default="cli", show_default=True, help="Who ends it.")
@_INSTANCE
def alerts_end(alert_id, station_id, by, instance_path):
    """End an active alert now (it otherwise expires by itself)."""
    from gridplan.web import store

    with _store(instance_path) as (_instance_dir, con):
        alert = store.end_alert(con, station_id, alert_id, by=by)
    click.echo(f"alert {alert.id} ended: {_alert_line(alert)}")


@click.group("tracks")
def tracks() -> None:
    """Tracks of patrols: what the web store keeps of where patrols went."""


@click.command("purge")
@click.option(
    "--station",
    "station_id",
    help="Station id, e.g. S01 (default: every station of the store).",
)
@_INSTANCE
def tracks_purge(station_id, instance_path):
    """Delete raw positions older than each station's [tracks] retention_days.

    Track fixes and the positions of check-ins before local midnight retention_days ago are
    deleted; presence per micro-grid, slice and patroller is kept, and so are the check-ins
    without their positions. Each deletion is written to the audit log. The server also runs
    this once a day.
    """
    from gridplan._errors import GridplanError
    from gridplan.web import retention
    from gridplan.web import store

    with _store(instance_path) as (_instance_dir, con):
        if station_id is not None and store.get_station(con, station_id) is None:
            known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
            msg = f"station {station_id!r} is unknown; stations in the store: {known}"
            raise GridplanError(msg)
        if station_id is None:
            results = retention.purge_all(con, username="cli")
        else:
            results = {station_id: retention.purge_station(con, station_id, username="cli")}
    for sid, counts in results.items():
        click.echo(
            f"station {sid}: before {counts['before']}, {counts['fixes']} track fixes and "
            f"{counts['positions']} check-in positions deleted, {counts['presence_rows']} "
            "presence rows kept"
        )
    if not results:
        click.echo("no station in the store")


tracks.add_command(tracks_purge)


@click.group("db")
def db() -> None:
    """The web store's schema: create, upgrade, grant, copy (SQLite or PostgreSQL)."""


_DATABASE_HELP = (
    "The store: a postgresql:// URL (as the tables' owner) or an SQLite file; default "
    "$GRIDPLAN_DATABASE_URL, else gridplan.sqlite in the instance folder."
)


def _target(database: str | None, instance_path: Path | None) -> str:
    return database or _database(_instance(instance_path))


@db.command("upgrade")
@click.option("--database", default=None, help=_DATABASE_HELP)
@click.option("--instance", "instance_path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
def db_upgrade(database, instance_path, revision):
    """Create the store, or bring it to the newest schema (Alembic, SQLite and PostgreSQL).

    An SQLite store of a gridplan from before Alembic is upgraded and stamped; nothing in it
    is lost (a copy of it is kept beside it when an old schema version is upgraded).
    """
    from gridplan._errors import GridplanError
    from gridplan.web import schema_tool
    from gridplan.web.dialect import redact

    target = _target(database, instance_path)
    try:
        found = schema_tool.upgrade(target, revision=revision)
    except GridplanError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{redact(target)}: schema revision {found}")


@db.command("grant")
@click.argument("role")
@click.option("--database", default=None, help=_DATABASE_HELP)
def db_grant(role, database):
    """Let ROLE (the web's and jobs' login, owner of nothing) read and write the rows.

    PostgreSQL only: row-level security then keeps each station's rows to its users.
    """
    from gridplan.web import schema_tool
    from gridplan.web.dialect import is_postgres

    target = _target(database, None)
    if not is_postgres(target):
        raise click.UsageError("grant is for a PostgreSQL store: give --database postgresql://...")
    try:
        schema_tool.grant(target, role)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ROLE") from None
    click.echo(f"role {role} may read and write the store's rows")


@db.command("copy")
@click.argument("source")
@click.argument("target")
def db_copy(source, target):
    """Copy every row of the store SOURCE into the new, empty store TARGET.

    How a station's SQLite store moves into the bureau's PostgreSQL store: both are upgraded
    first, ids are kept, and a failed copy leaves TARGET empty.
    """
    from gridplan._errors import GridplanError
    from gridplan.web import schema_tool
    from gridplan.web.dialect import redact

    try:
        schema_tool.upgrade(source)
        schema_tool.upgrade(target)
        counts = schema_tool.copy_store(source, target)
    except GridplanError as exc:
        raise click.ClickException(str(exc)) from None
    rows = ", ".join(f"{t} {n}" for t, n in counts.items() if n)
    click.echo(f"copied into {redact(target)}: {rows or 'no rows'}")
