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
import threading
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
    fake_wechat_knowing,
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
UNTHROTTLED = 1000.0  # far above what one process manages; the batch claimed is one second of it


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
    with fake_wechat_knowing(APP_ID, APP_SECRET, openids) as fake:
        ready.put(fake.base_url)
        stop.wait(1800)


def _recipients(db: Any) -> list[str]:
    """Every recipient of a planned reminder: the fake WeChat API must know them all as followers."""
    with db.engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT DISTINCT b.openid FROM reminder r JOIN binding b ON b.person_id = r.recipient_id "
            "WHERE r.status = 'planned'")).scalars())


class StopAfter:
    """A transport that sends ``count`` messages, then answers 45009 (daily quota) so that every sender
    stops the way it stops in production; the whole day's plan stays in place, so claims cost what
    they cost on a real day, instead of a cut-down table."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.lock = threading.Lock()

    def __call__(self, client: Any, openid: str, message: Any, client_msg_id: str) -> Any:
        from miniservice.reminders import channel

        with self.lock:
            self.left -= 1
            go = self.left >= 0
        return channel.send(client, openid, message, client_msg_id) if go else channel.Answer("retry", 45009, "stop")


def _send_with(url: str, base_url: str, rate: float, senders: int, count: int, on: date,
               redis_url: str | None) -> tuple[Any, float]:
    """``senders`` threads each running ``send_due`` (they split the rows by claim, share one rate)."""
    from miniservice import create_app
    from miniservice.reminders.sending import SendReport
    from miniservice.reminders.service import send_due

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

            redis.Redis.from_url(redis_url).delete(f"miniservice:reminders:rate:{APP_ID}")
        reports: list[SendReport] = []
        transport = StopAfter(count)

        def one() -> None:
            with app.app_context():
                reports.append(send_due(on, transport=transport))

        threads = [threading.Thread(target=one) for _ in range(senders)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        elapsed = time.perf_counter() - started
        app.extensions["miniservice.db"].dispose()
    total = SendReport()
    for report in reports:
        for outcome in ("sent", "retry", "failed", "unreachable"):
            setattr(total, outcome, getattr(total, outcome) + getattr(report, outcome))
        total.skipped.update(report.skipped)
        total.stopped = total.stopped or report.stopped
    return total, elapsed


def measure_sending(url: str, on: date, rates: list[float], senders: int, seconds: float, capacity_count: int,
                    redis_url: str | None) -> list[dict[str, Any]]:
    """Sent/s at each configured rate (about ``seconds`` of sending each), then unthrottled: the capacity
    of one sender, and of ``senders`` sender threads sharing the rate when that is more than one."""
    from miniservice.db import Database

    db = Database(url)
    rows = []
    runs = [(rate, 1, max(2, int(rate * seconds))) for rate in rates] + [(UNTHROTTLED, 1, capacity_count)]
    if senders > 1:
        runs.append((UNTHROTTLED, senders, capacity_count))
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    fake = context.Process(target=_serve_fake, args=(_recipients(db), ready, stop), daemon=True)
    fake.start()
    try:
        base_url = ready.get(timeout=300)
        for rate, threads, count in runs:
            report, elapsed = _send_with(url, base_url, rate, threads, count, on, redis_url)
            problems = report.failed + report.unreachable + sum(report.skipped.values())
            rows.append({"rate": rate, "senders": threads, "count": count, "sent": report.sent, "seconds": elapsed,
                         "per_second": report.sent / elapsed if elapsed else float("nan"), "not_sent": problems,
                         "stopped": report.stopped})
    finally:
        stop.set()
        fake.join(10)
    db.dispose()
    return rows


# -- the run ------------------------------------------------------------------------------------------------

def run(url: str, sizes: list[int], on: date, rates: list[float], senders: int, send_seconds: float,
        capacity_count: int, redis_url: str | None, quiet_load: float, max_wait: float) -> int:
    for line in machine_lines():
        print(line)
    print(f"database: {url.split('@')[-1]}  planning date: {on.isoformat()}")
    print()
    if sizes:
        plan_sizes(url, sizes, on, quiet_load, max_wait)
    print(f"sending to the fake WeChat API (separate process); load {wait_for_quiet(quiet_load, max_wait)}")
    print(f"{'configured/s':>12} {'senders':>7} {'messages':>9} {'sent':>6} {'seconds':>8} {'sent/s':>8} {'ratio':>6} "
          f"{'not sent':>9}")
    for row in measure_sending(url, on, rates, senders, send_seconds, capacity_count, redis_url):
        configured = "unthrottled" if row["rate"] == UNTHROTTLED else f"{row['rate']:.0f}"
        ratio = "" if row["rate"] == UNTHROTTLED else f"{row['per_second'] / row['rate']:.2f}"
        print(f"{configured:>12} {row['senders']:>7} {row['count']:>9} {row['sent']:>6} {row['seconds']:>8.2f} "
              f"{row['per_second']:>8.1f} {ratio:>6} {row['not_sent']:>9}"
              + (f"  stopped: {row['stopped']}" if row["stopped"] not in (None, "rate_limited") else ""))
    print("  ratio = sent/s ÷ configured rate; 'unthrottled' = what the senders manage alone (threads of one process)")
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
    parser.add_argument("--rates", default="10,20", help="configured reminder_rate_per_second values")
    parser.add_argument("--senders", type=int, default=3, help="sender threads for the extra capacity run (1: none)")
    parser.add_argument("--send-seconds", type=float, default=20.0)
    parser.add_argument("--capacity-count", type=int, default=800)
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
            return run(f"sqlite:///{scratch}/scan.db", [500, 1500], on, [50.0], 1, 0.5, 30, None,
                       quiet_load=float("inf"), max_wait=0)
    sizes = [int(size) for size in args.sizes.split(",") if size]  # --sizes '': send from the database as it is
    rates = [float(rate) for rate in args.rates.split(",")]
    return run(args.database_url, sizes, on, rates, args.senders, args.send_seconds, args.capacity_count,
               args.redis_url or None, args.quiet_load, args.max_wait)


if __name__ == "__main__":
    raise SystemExit(main())
