"""The daily reminder scan at city scale, and reminder sending against the fake WeChat API.

``python -m bench.reminder_scan`` generates 100k, 300k and 1M bound citizens on PostgreSQL
(:mod:`bench.population`), runs one full daily planning pass (``plan_reminders``) at each size in a
fresh process, and prints seconds, rows planned and memory side by side with the growth ratio
against the smallest size. Memory is measured three ways: the planning process's peak RSS
(``getrusage``), its Python heap peak (``tracemalloc``, in a separate dry run so that tracing does
not slow the timed run), and the PostgreSQL backend that ran the statements (its VmHWM, which counts
the shared buffers it touched, plus temporary-file bytes written).

Then sending: the same planned rows are sent through ``send_due`` to a fake WeChat API in its own
process, at two configured rates and once effectively unthrottled (the sender's own capacity), so
the output shows sent/s as a ratio of the configured rate.

``--smoke`` runs everything in seconds on SQLite (tests/bench/test_smoke.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import (
    BENCH_DATA_KEY,
    BENCH_PG_URL,
    BENCH_REDIS_URL,
    machine_lines,
    peak_rss_mib,
    prepare_database,
    wait_for_quiet,
)
from bench.population import generate
from miniservice.config import PROJECT_ROOT

APP_ID = "wxbench0000000001"
APP_SECRET = "bench-secret"
TEMPLATES = {"gap_reminder": "TPL-GAP", "resident_period": "TPL-RESIDENT"}
UNTHROTTLED = 100_000.0


# -- planning, in a child process so that its memory is its own ------------------------------------------

def _backend_memory(connection: Any) -> dict[str, float]:
    """The PostgreSQL backend of ``connection``: peak and current RSS in MiB (same machine: /proc)."""
    pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def plan_child(url: str, on: date, trace: bool) -> dict[str, Any]:
    """One planning pass; ``trace`` = a dry run under tracemalloc (same statements, rolled back)."""
    from miniservice.db import Database
    from miniservice.reminders.planning import plan_reminders

    db = Database(url)
    postgresql = not db.is_sqlite
    with db.engine.connect() as connection:  # open the pooled connection before measuring
        temp_before = (connection.execute(text(
            "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")).scalar_one()
            if postgresql else 0)
    rss_before = peak_rss_mib()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = plan_reminders(db, on, dry_run=trace)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": seconds, "planned": report.total, "by_stage": dict(report.planned),
                              "superseded": report.superseded, "rss_before_mib": rss_before,
                              "peak_rss_mib": peak_rss_mib()}
    if trace:
        result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    if postgresql:
        with db.engine.connect() as connection:  # the same pooled connection, so the same backend
            result["backend"] = _backend_memory(connection)
            time.sleep(0.6)  # pg_stat counters are flushed at most every 500 ms
            temp_after = connection.execute(text(
                "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")).scalar_one()
            result["temp_mib"] = (temp_after - temp_before) / 1024 / 1024
    db.dispose()
    return result


def _run_child(url: str, on: date, trace: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.reminder_scan", "--child-plan", url, "--date", on.isoformat()]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"planning child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- sending ------------------------------------------------------------------------------------------------

def _serve_fake(openids: list[str], ready: Any, stop: Any) -> None:
    """The fake WeChat API in its own process (it must not share the sender's GIL)."""
    from miniservice.devtools.fake_wechat import FakeWeChat

    fake = FakeWeChat(APP_ID, APP_SECRET)
    for openid in openids:
        fake.add_follower(openid, subscribe_templates=["*"])
    with fake:
        ready.put(fake.base_url)
        stop.wait(1800)


def _release(db: Any, count: int) -> list[str]:
    """Make exactly ``count`` planned reminders sendable now (the rest wait); their recipients' openids."""
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE reminder SET next_attempt_at = :later WHERE status = 'planned'"),
                           {"later": "2999-01-01 00:00:00+00:00" if not db.is_sqlite else "2999-01-01 00:00:00"})
        ids = connection.execute(text("SELECT id FROM reminder WHERE status = 'planned' ORDER BY id LIMIT :n"),
                                 {"n": count}).scalars().all()
        if ids:
            connection.execute(text("UPDATE reminder SET next_attempt_at = NULL WHERE id IN ("
                                    + ",".join(str(int(i)) for i in ids) + ")"))
        return list(connection.execute(text(
            "SELECT DISTINCT b.openid FROM reminder r JOIN binding b ON b.person_id = r.recipient_id "
            "WHERE r.status = 'planned' AND r.next_attempt_at IS NULL")).scalars())


def measure_sending(url: str, on: date, rates: list[float], seconds: float, capacity_count: int,
                    redis_url: str | None) -> list[dict[str, Any]]:
    """Sent/s at each configured rate (about ``seconds`` of sending each) and unthrottled."""
    from miniservice import create_app
    from miniservice.db import Database
    from miniservice.reminders.service import send_due

    db = Database(url)
    rows = []
    runs = [(rate, max(2, int(rate * seconds))) for rate in rates] + [(UNTHROTTLED, capacity_count)]
    context = multiprocessing.get_context("spawn")
    for rate, count in runs:
        openids = _release(db, count)
        ready, stop = context.Queue(), context.Event()
        fake = context.Process(target=_serve_fake, args=(openids, ready, stop), daemon=True)
        fake.start()
        try:
            base_url = ready.get(timeout=120)
            with tempfile.TemporaryDirectory() as instance:
                app = create_app({
                    "env": "test", "instance_dir": Path(instance), "database_url": url, "secret_key": "bench",
                    "data_key": BENCH_DATA_KEY, "wechat_token": "benchtoken", "wechat_app_id": APP_ID,
                    "wechat_app_secret": APP_SECRET, "wechat_api_base": base_url, "redis_url": redis_url,
                    "template_ids": dict(TEMPLATES), "reminder_rate_per_second": rate,
                    "reminder_quiet_start": "00:00", "reminder_quiet_end": "23:59",
                })
                if redis_url:
                    import redis

                    redis.Redis.from_url(redis_url).flushdb()
                with app.app_context():
                    started = time.perf_counter()
                    report = send_due(on)
                    elapsed = time.perf_counter() - started
                app.extensions["miniservice.db"].dispose()
        finally:
            stop.set()
            fake.join(10)
        problems = report.retry + report.failed + report.unreachable + sum(report.skipped.values())
        rows.append({"rate": rate, "count": count, "sent": report.sent, "seconds": elapsed,
                     "per_second": report.sent / elapsed if elapsed else float("nan"), "not_sent": problems,
                     "stopped": report.stopped})
    db.dispose()
    return rows


# -- the run ------------------------------------------------------------------------------------------------

def run(url: str, sizes: list[int], on: date, rates: list[float], send_seconds: float, capacity_count: int,
        redis_url: str | None, quiet_load: float, max_wait: float) -> int:
    for line in machine_lines():
        print(line)
    print(f"database: {url.split('@')[-1]}  planning date: {on.isoformat()}")
    print()
    if sizes:
        plan_sizes(url, sizes, on, quiet_load, max_wait)
    print(f"sending to the fake WeChat API (separate process); load {wait_for_quiet(quiet_load, max_wait)}")
    print(f"{'configured/s':>12} {'messages':>9} {'sent':>6} {'seconds':>8} {'sent/s':>8} {'ratio':>6} {'not sent':>9}")
    for row in measure_sending(url, on, rates, send_seconds, capacity_count, redis_url):
        configured = "unthrottled" if row["rate"] == UNTHROTTLED else f"{row['rate']:.0f}"
        ratio = "" if row["rate"] == UNTHROTTLED else f"{row['per_second'] / row['rate']:.2f}"
        print(f"{configured:>12} {row['count']:>9} {row['sent']:>6} {row['seconds']:>8.2f} "
              f"{row['per_second']:>8.1f} {ratio:>6} {row['not_sent']:>9}"
              + (f"  stopped: {row['stopped']}" if row["stopped"] else ""))
    print("  ratio = sent/s ÷ configured rate; 'unthrottled' is the sender's own capacity (one process)")
    return 0


def plan_sizes(url: str, sizes: list[int], on: date, quiet_load: float, max_wait: float) -> None:
    """Generate each size afresh and time one planning pass on it, in child processes."""
    print(f"{'citizens':>10} {'gen s':>7} {'plan s':>7} {'planned':>8} {'s/100k':>7} {'vs first':>9} "
          f"{'peak RSS':>9} {'+RSS':>7} {'py heap':>8} {'PG HWM':>8} {'PG tmp':>7}  load")
    first: tuple[int, float] | None = None
    for size in sizes:
        started = time.perf_counter()
        db = prepare_database(url)
        generate(db.engine, size, on)
        db.dispose()
        generated = time.perf_counter() - started
        load = wait_for_quiet(quiet_load, max_wait)  # as planning starts
        traced = _run_child(url, on, trace=True)
        timed = _run_child(url, on, trace=False)
        if timed["planned"] != traced["planned"]:
            raise RuntimeError(f"dry run planned {traced['planned']}, real run {timed['planned']}")
        first = first or (size, timed["seconds"])
        growth = (timed["seconds"] / first[1]) / (size / first[0])
        backend = timed.get("backend", {})
        print(f"{size:>10,} {generated:>7.1f} {timed['seconds']:>7.2f} {timed['planned']:>8,} "
              f"{timed['seconds'] / size * 100_000:>7.2f} {growth:>8.2f}x "
              f"{timed['peak_rss_mib']:>7.0f}Mi {timed['peak_rss_mib'] - timed['rss_before_mib']:>5.0f}Mi "
              f"{traced['tracemalloc_peak_mib']:>6.1f}Mi {backend.get('VmHWM', float('nan')):>6.0f}Mi "
              f"{timed.get('temp_mib', 0.0):>5.0f}Mi  {load}", flush=True)
        print(f"{'':>10} stages: {json.dumps(timed['by_stage'], sort_keys=True)}")
    print("  'vs first' = (seconds / first seconds) / (size / first size): 1.00x is linear, below is better")
    print("  peak RSS = planning process (getrusage); +RSS = growth during planning; py heap = tracemalloc peak")
    print("  PG HWM = the PostgreSQL backend's peak RSS (includes shared buffers it touched); PG tmp = temp files")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on SQLite, seconds (CI)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", BENCH_PG_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", BENCH_REDIS_URL),
                        help="shared rate limit for sending ('' for none)")
    parser.add_argument("--sizes", default="100000,300000,1000000", help="'' = only send, from the plan in place")
    parser.add_argument("--date", default="2025-12-01", help="the local day planned (in a 居民医保 period)")
    parser.add_argument("--rates", default="20,100", help="configured reminder_rate_per_second values")
    parser.add_argument("--send-seconds", type=float, default=15.0)
    parser.add_argument("--capacity-count", type=int, default=2000)
    parser.add_argument("--quiet-load", type=float, default=3.0, help="wait for a 1-min load average under this")
    parser.add_argument("--max-wait", type=float, default=1200.0)
    parser.add_argument("--child-plan", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    on = date.fromisoformat(args.date)
    if args.child_plan:
        print(json.dumps(plan_child(args.child_plan, on, args.trace)))
        return 0
    if args.smoke:
        with tempfile.TemporaryDirectory() as scratch:
            return run(f"sqlite:///{scratch}/scan.db", [500, 1500], on, [50.0], 0.5, 30, None,
                       quiet_load=float("inf"), max_wait=0)
    sizes = [int(size) for size in args.sizes.split(",") if size]  # --sizes '': send from the database as it is
    rates = [float(rate) for rate in args.rates.split(",")]
    return run(args.database_url, sizes, on, rates, args.send_seconds, args.capacity_count,
               args.redis_url or None, args.quiet_load, args.max_wait)


if __name__ == "__main__":
    raise SystemExit(main())
