"""Reminder planning at province scale: 1M and 10M citizens on PostgreSQL, side by side in one run.

``python -m bench.plan_scale`` builds the city of :mod:`bench.population` in its own database
(``miniservice_bench_scale``, created and dropped here) at each size in turn, growing it from one size to
the next, and runs one full daily planning pass (``plan_reminders``) in a fresh process at each size. It
prints seconds, citizens per second, rows planned and memory: the planning process's peak RSS
(``getrusage``), and what PostgreSQL itself used — the backend that ran the statements (its VmHWM,
which counts the shared buffers it touched) and the temporary files it wrote.

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
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bench.common import load_average, machine_lines, prepare_database, wait_for_quiet, with_database
from bench.population import TABLES, finish, people_statements
from miniservice.config import PROJECT_ROOT

SCALE_DB = "miniservice_bench_scale"
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


def grow(engine: Engine, start: int, size: int, on: date) -> dict[str, int]:
    """Add people ``start`` … ``size``; on PostgreSQL with secondary indexes and constraints rebuilt after."""
    postgresql = engine.dialect.name == "postgresql"
    saved: tuple[list[tuple[str, str, str]], list[tuple[str, str]]] = ([], [])
    if postgresql:
        with engine.begin() as connection:
            saved = _constraints_and_indexes(connection)
            for table, name, _ in saved[0]:  # foreign keys come first (ORDER BY contype: 'f' < 'u')
                connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for name, _ in saved[1]:
                connection.execute(text(f'DROP INDEX "{name}"'))
    ranges = [(first, min(first + RANGE - 1, size)) for first in range(start, size + 1, RANGE)]

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
    return finish(engine)


def _execute(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        connection.execute(text(statement))


def _plan_in_child(url: str, on: date) -> dict[str, Any]:
    """One planning pass in a fresh process (``bench.reminder_scan``'s child), so its memory is its own."""
    command = [sys.executable, "-m", "bench.reminder_scan", "--child-plan", url, "--date", on.isoformat()]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"planning child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forget_plans(engine: Engine) -> None:
    """Each size is planned from nothing, as on the first day: the previous size's reminders go."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM reminder_attempt"))
        connection.execute(text("DELETE FROM reminder"))


def run(url: str, sizes: list[int], on: date, quiet_load: float, max_wait: float) -> list[dict[str, Any]]:
    for line in machine_lines():
        print(line)
    free = shutil.disk_usage(PROJECT_ROOT).free / 2**30
    print(f"database: {url.split('@')[-1]}  planning date: {on.isoformat()}  free disk at start: {free:.0f} GiB")
    print(f"{'citizens':>11} {'build s':>8} {'plan s':>7} {'citizens/s':>11} {'planned':>9} {'vs first':>9} "
          f"{'peak RSS':>9} {'PG HWM':>8} {'PG tmp':>7}  load at start / end")
    db = prepare_database(url)
    rows: list[dict[str, Any]] = []
    built = 0
    try:
        for size in sizes:
            started = time.perf_counter()
            grow(db.engine, built + 1, size, on)
            built = size
            build_seconds = time.perf_counter() - started
            _forget_plans(db.engine)
            load = wait_for_quiet(quiet_load, max_wait)
            result = _plan_in_child(url, on)
            result |= {"size": size, "build_seconds": build_seconds, "load": f"{load} / {load_average()}"}
            rows.append(result)
            per_citizen = result["seconds"] / size
            growth = per_citizen / (rows[0]["seconds"] / rows[0]["size"])
            backend = result.get("backend", {})
            print(f"{size:>11,} {build_seconds:>8.1f} {result['seconds']:>7.2f} {size / result['seconds']:>11,.0f} "
                  f"{result['planned']:>9,} {growth:>8.2f}x {result['peak_rss_mib']:>7.0f}Mi "
                  f"{backend.get('VmHWM', float('nan')):>6.0f}Mi {result.get('temp_mib', 0.0):>5.0f}Mi  "
                  f"{result['load']}", flush=True)
            print(f"{'':>11} stages: {json.dumps(result['by_stage'], sort_keys=True)}", flush=True)
    finally:
        db.dispose()
    print("  citizens/s = citizens ÷ planning seconds; 'vs first' = seconds per citizen ÷ the first size's (1.00x is"
          " linear)")
    print("  peak RSS = the planning process (getrusage); PG HWM = the PostgreSQL backend that ran the statements"
          " (its peak RSS, counting the shared buffers it touched); PG tmp = temporary files it wrote")
    return rows


def drop(url: str) -> None:
    """Drop the scale database (only ever one named miniservice_bench*)."""
    name = url.rsplit("/", 1)[1]
    if not name.startswith("miniservice_bench"):
        raise ValueError(f"refusing to drop {name!r}: bench databases are named miniservice_bench*")
    admin = create_engine(with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few hundred citizens, seconds (CI)")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_SCALE_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{SCALE_DB}"))
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--date", default="2025-12-01", help="the local day planned (in a 居民医保 period)")
    parser.add_argument("--keep", action="store_true", help="leave the database in place (default: drop it)")
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
        run(args.database_url, sizes, on, args.quiet_load, args.max_wait)
    finally:
        if not args.keep and args.database_url.startswith("postgresql"):
            drop(args.database_url)
            print(f"dropped {args.database_url.rsplit('/', 1)[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
