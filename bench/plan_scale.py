"""Reminder planning at province scale: 1M and 10M citizens on PostgreSQL, side by side in one run.

``python -m bench.plan_scale`` builds the city of :mod:`bench.population` at each size in a database of
its own (``miniservice_bench_scale_<size>``, created here and dropped at the end unless ``--keep``), then
runs one full daily planning pass (``plan_reminders``) at each size in a fresh process, the sizes one
after the other. It prints seconds, citizens per second, rows planned and memory: the planning
process's peak RSS (``getrusage``), and what PostgreSQL itself used — the backend that ran the
statements (its VmHWM, which counts the shared buffers it touched) and the temporary files it wrote.

``--before DIR`` plans each size a second time with the package of another checkout (e.g. a worktree of
the previous commit), just before this one, into the same emptied table: before and after side by side.
``--reuse`` plans on databases kept by an earlier ``--keep`` run instead of building them again.

The population is built with one ``INSERT … SELECT`` over ``generate_series`` per table and id range,
two ranges at a time on two connections, with the tables' secondary indexes and constraints dropped
and rebuilt afterwards (what a bulk load does; a city does not grow this way, but planning reads the
same rows and indexes either way), then ``VACUUM ANALYZE``.

``--smoke`` runs the same steps with a few hundred citizens (tests/bench/test_smoke.py); on SQLite
without a PostgreSQL URL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bench.common import load_average, machine_lines, prepare_database, wait_for_quiet, with_database
from bench.population import TABLES, finish, people_statements, triggers
from miniservice.config import PROJECT_ROOT

SCALE_DB = "miniservice_bench_scale"  # + "_<size>"
RANGE = 500_000  # people per INSERT range: each range is one transaction on one connection
BUILDERS = 2  # connections building ranges side by side (the machines measured have 2 cores)


def _constraints_and_indexes(connection: Any) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The population tables' unique and foreign-key constraints (table, name, definition) — and foreign
    keys elsewhere that point at them — and their other secondary indexes (name, CREATE INDEX)."""
    tables = list(TABLES)
    constraints = connection.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.contype IN ('u', 'f') AND (c.conrelid::regclass::text = ANY(:t) "
        "OR c.confrelid::regclass::text = ANY(:t)) ORDER BY c.contype"), {"t": tables}).all()
    indexes = connection.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(:t) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"), {"t": tables}).all()
    return [tuple(row) for row in constraints], [tuple(row) for row in indexes]


def build(engine: Engine, size: int, on: date) -> dict[str, int]:
    """People 1 … ``size`` in empty tables; on PostgreSQL with secondary indexes and constraints rebuilt after."""
    postgresql = engine.dialect.name == "postgresql"
    saved: tuple[list[tuple[str, str, str]], list[tuple[str, str]]] = ([], [])
    if postgresql:
        with engine.begin() as connection:
            saved = _constraints_and_indexes(connection)
            for table, name, _ in saved[0]:  # foreign keys come first (ORDER BY contype: 'f' < 'u')
                connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for name, _ in saved[1]:
                connection.execute(text(f'DROP INDEX "{name}"'))
            triggers(connection, enabled=False)  # the rows carry person.gap_from already (bench.population)
    ranges = [(first, min(first + RANGE - 1, size)) for first in range(1, size + 1, RANGE)]

    def build(bounds: tuple[int, int]) -> None:
        with engine.begin() as connection:
            for statement in people_statements(postgresql, bounds[0], bounds[1], size, on):
                connection.execute(text(statement))

    with ThreadPoolExecutor(BUILDERS if postgresql else 1) as pool:
        list(pool.map(build, ranges))
    if postgresql:
        with ThreadPoolExecutor(BUILDERS) as pool:
            list(pool.map(lambda ddl: _execute(engine, ddl), [ddl for _, ddl in saved[1]]))
        for table, name, definition in reversed(saved[0]):  # unique constraints before the keys that need them
            _execute(engine, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        with engine.begin() as connection:
            triggers(connection, enabled=True)
        _check_gap_from(engine)
    return finish(engine)


def _check_gap_from(engine: Engine, sample: int = 2000) -> None:
    """The loaded ``person.gap_from`` of the first ``sample`` people is what the triggers would keep."""
    enrolled = ("(CAST(EXTRACT(YEAR FROM p.enrolled_since) AS integer) * 12 "
                "+ CAST(EXTRACT(MONTH FROM p.enrolled_since) AS integer) - 1)")
    with engine.connect() as connection:
        wrong = connection.execute(text(
            "SELECT count(*) FROM person p LEFT JOIN (SELECT person_id, max(month) + 1 AS after FROM contribution "
            "WHERE person_id <= :n AND status IN ('paid', 'back_paid') GROUP BY person_id) c ON c.person_id = p.id "
            f"WHERE p.id <= :n AND p.gap_from IS DISTINCT FROM GREATEST({enrolled}, COALESCE(c.after, {enrolled}))"),
            {"n": sample}).scalar_one()
    if wrong:
        raise RuntimeError(f"{wrong} of the first {sample} people carry a gap_from their months contradict")


def _execute(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        connection.execute(text(statement))


def _plan_in_child(url: str, on: date, checkout: Path = PROJECT_ROOT) -> dict[str, Any]:
    """One planning pass in a fresh process (``bench.reminder_scan``'s child), so its memory is its own;
    ``checkout``: the directory whose ``miniservice`` package plans (it comes first on the path)."""
    command = [sys.executable, "-m", "bench.reminder_scan", "--child-plan", url, "--date", on.isoformat()]
    environment = os.environ | {"PYTHONPATH": f"{checkout}{os.pathsep}{PROJECT_ROOT}"}
    done = subprocess.run(command, cwd=checkout, env=environment, capture_output=True, text=True, timeout=1800,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"planning child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forget_plans(url: str) -> None:
    """Each pass plans from nothing, as on the first day: the previous pass's reminders go."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM reminder_attempt"))
        connection.execute(text("DELETE FROM reminder"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM reminder"))
    engine.dispose()


def _url_for(url: str, size: int) -> str:
    if url.startswith("sqlite"):
        return url.removesuffix(".db") + f"_{size}.db"
    return with_database(url, f"{SCALE_DB}_{size}")


def _ready(url: str, size: int) -> bool:
    """A kept database of ``size`` people (``--reuse``)."""
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM person")).scalar_one() == size
    except Exception:  # no such database yet
        return False
    finally:
        engine.dispose()


def _line(label: str, size: int, build_seconds: float, result: dict[str, Any], first: dict[str, Any]) -> str:
    growth = (result["seconds"] / size) / (first["seconds"] / first["size"])
    backend = result.get("backend", {})
    return (f"{label:>7} {size:>11,} {build_seconds:>8.1f} {result['seconds']:>7.2f} "
            f"{size / result['seconds']:>11,.0f} {result['planned']:>9,} {growth:>8.2f}x "
            f"{result['peak_rss_mib']:>7.0f}Mi {backend.get('VmHWM', float('nan')):>6.0f}Mi "
            f"{result.get('temp_mib', 0.0):>5.0f}Mi  {result['load']}")


def run(url: str, sizes: list[int], on: date, quiet_load: float, max_wait: float, *, before: Path | None = None,
        reuse: bool = False) -> list[dict[str, Any]]:
    for line in machine_lines():
        print(line)
    free = shutil.disk_usage(PROJECT_ROOT).free / 2**30
    print(f"server: {url.split('@')[-1].rsplit('/', 1)[0]}  planning date: {on.isoformat()}  "
          f"free disk at start: {free:.0f} GiB")
    built: dict[int, float] = {}
    for size in sizes:
        sized = _url_for(url, size)
        if reuse and _ready(sized, size):
            built[size] = float("nan")
            continue
        started = time.perf_counter()
        db = prepare_database(sized)
        build(db.engine, size, on)
        db.dispose()
        built[size] = time.perf_counter() - started
        print(f"built {size:,} citizens in {built[size]:.0f} s (load {load_average()})", flush=True)
    print(f"{'code':>7} {'citizens':>11} {'build s':>8} {'plan s':>7} {'citizens/s':>11} {'planned':>9} "
          f"{'vs first':>9} {'peak RSS':>9} {'PG HWM':>8} {'PG tmp':>7}  load at start / end")
    rows: list[dict[str, Any]] = []
    firsts: dict[str, dict[str, Any]] = {}
    for size in sizes:
        sized = _url_for(url, size)
        for label, checkout in ([("before", before)] if before else []) + [("after" if before else "", PROJECT_ROOT)]:
            _forget_plans(sized)
            load = wait_for_quiet(quiet_load, max_wait)
            result = _plan_in_child(sized, on, checkout)
            result |= {"size": size, "code": label, "load": f"{load} / {load_average()}"}
            rows.append(result)
            first = firsts.setdefault(label, result)
            print(_line(label, size, built[size], result, first), flush=True)
            print(f"{'':>19} stages: {json.dumps(result['by_stage'], sort_keys=True)}", flush=True)
    if before:
        for size in sizes:
            old, new = (next(r for r in rows if (r["size"], r["code"]) == (size, code)) for code in ("before", "after"))
            same = "the same rows per stage" if old["by_stage"] == new["by_stage"] else "DIFFERENT rows per stage"
            print(f"{size:>11,}: after / before = {new['seconds'] / old['seconds']:.2f} of the time; {same}")
    print("  citizens/s = citizens ÷ planning seconds; 'vs first' = seconds per citizen ÷ the first size's (1.00x is"
          " linear)")
    print("  peak RSS = the planning process (getrusage); PG HWM = the PostgreSQL backend that ran the statements"
          " (its peak RSS, counting the shared buffers it touched); PG tmp = temporary files it wrote")
    return rows


def drop(url: str) -> None:
    """Drop a bench database (only ever one named miniservice_bench*)."""
    name = url.rsplit("/", 1)[1]
    if not name.startswith("miniservice_bench"):
        raise ValueError(f"refusing to drop {name!r}: bench databases are named miniservice_bench*")
    admin = create_engine(with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few hundred citizens on SQLite, seconds (CI)")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_SCALE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="the PostgreSQL server (the database name is replaced by one per size)")
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--date", default="2025-12-01", help="the local day planned (in a 居民医保 period)")
    parser.add_argument("--before", type=Path, help="another checkout whose package plans each size first")
    parser.add_argument("--keep", action="store_true", help="leave the databases in place (default: drop them)")
    parser.add_argument("--reuse", action="store_true", help="plan on databases kept by an earlier --keep run")
    parser.add_argument("--quiet-load", type=float, default=3.0, help="wait for a 1-min load average under this")
    parser.add_argument("--max-wait", type=float, default=600.0)
    args = parser.parse_args(argv)
    on = date.fromisoformat(args.date)
    if args.smoke:
        with tempfile.TemporaryDirectory() as scratch:
            run(f"sqlite:///{scratch}/scale.db", [120, 360], on, quiet_load=1000, max_wait=0)
        return 0
    sizes = sorted(int(size) for size in args.sizes.split(","))
    try:
        run(args.database_url, sizes, on, args.quiet_load, args.max_wait, before=args.before, reuse=args.reuse)
    finally:
        if not args.keep:
            for size in sizes:
                drop(_url_for(args.database_url, size))
            print("dropped " + ", ".join(f"{SCALE_DB}_{size}" for size in sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
