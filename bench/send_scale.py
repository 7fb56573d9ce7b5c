"""Reminder sending that scales: two sender processes against one, side by side in one run.

``python -m bench.send_scale`` builds a city of :mod:`bench.population` (120k citizens by default) in
its own PostgreSQL database (``miniservice_bench_send``, created and dropped here), plans a day's
reminders, and starts the fake WeChat API in its own process. Then it alternates rounds of one sender
process and of two (A B A B …), each round given its own slice of planned reminders (the rest held
back by ``next_attempt_at``) and timed from the moment every process of the round is ready until the
last has drained the slice. Each process runs the service's own :class:`~miniservice.reminders.sending.Sender`
(claims with ``FOR UPDATE SKIP LOCKED``, the Redis rate bucket shared, set far above what they reach).

It prints sent/s per round, the ratio of each two-process round to the one-process round before it,
each process's CPU seconds per message, and the fake API's own CPU use (to show whether it was the
bottleneck). At the end it checks *exactly once*: every reminder marked sent was sent in exactly one
call to the fake API, and no call repeated a reminder's ``client_msg_id``.

``--smoke`` runs one short round of each on SQLite (tests/bench/test_smoke.py); SQLite serialises the
senders' writes, so its ratio means nothing and is not the goal's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import BENCH_DATA_KEY, fake_wechat_knowing, load_average, machine_lines, prepare_database
from bench.plan_scale import drop
from bench.population import generate

APP_ID = "wxbenchsend000001"
APP_SECRET = "bench-send-secret"
TEMPLATES = {"gap_reminder": "TPL-GAP", "resident_period": "TPL-RESIDENT"}
SEND_DB = "miniservice_bench_send"
RATE = 5000.0  # the shared bucket's rate: far above what the senders reach, so it never throttles them
BATCH = 20  # rows per claim, as with the default rate of 20/s (one second of sending)
HELD = "2999-01-01 00:00:00+00"


def _fake(openids: list[str], ready: Any, stop: Any, results: Any) -> None:
    """The fake WeChat API in its own process; at the end, its CPU seconds and every reminder's call count."""
    with fake_wechat_knowing(APP_ID, APP_SECRET, openids) as fake:
        ready.put(fake.base_url)
        stop.wait(3600)
        calls = Counter(str(call.body.get("client_msg_id")) for call in fake.calls("message/template/send")
                        if isinstance(call.body, dict))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        results.put({"calls": dict(calls), "cpu": usage.ru_utime + usage.ru_stime})


def _settings(url: str, base_url: str, redis_url: str | None, instance: str) -> dict[str, Any]:
    return {"env": "test", "instance_dir": Path(instance), "database_url": url, "secret_key": "bench",
            "data_key": BENCH_DATA_KEY, "wechat_token": "benchtoken", "wechat_app_id": APP_ID,
            "wechat_app_secret": APP_SECRET, "wechat_api_base": base_url, "redis_url": redis_url,
            "template_ids": dict(TEMPLATES), "reminder_rate_per_second": RATE,
            "reminder_quiet_start": "00:00", "reminder_quiet_end": "23:59"}


def _sender(url: str, base_url: str, redis_url: str | None, on: date, ready: Any, go: Any, results: Any) -> None:
    """One sender process: the app built and its connections open before the round's start signal."""
    from miniservice import create_app
    from miniservice.reminders.sending import Sender
    from miniservice.reminders.service import shared_limiter
    from miniservice.wechat.client import get_client

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(_settings(url, base_url, redis_url, instance))
        with app.app_context():
            db = app.extensions["miniservice.db"]
            sender = Sender(db, app.extensions["miniservice.settings"], get_client(), shared_limiter(),
                            batch_size=BATCH)
            get_client().access_token  # noqa: B018 — the token fetched before the clock starts
            with db.reading() as session:
                session.execute(text("SELECT 1"))
            ready.put(os.getpid())
            go.wait(120)
            before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.time()
            report = sender.run(on)
            ended = time.time()
            after = resource.getrusage(resource.RUSAGE_SELF)
        db.dispose()
    results.put({"sent": report.sent, "other": report.retry + report.failed + report.unreachable + report.uncertain,
                 "skipped": sum(report.skipped.values()), "started": started, "ended": ended,
                 "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)})


def _release_slice(url: str, count: int) -> int:
    """Hold every planned reminder back except the next ``count`` in sending order."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    held = f"TIMESTAMP WITH TIME ZONE '{HELD}'" if url.startswith("postgresql") else f"'{HELD[:19]}'"
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE reminder SET next_attempt_at = {held} WHERE status = 'planned'"))
        released = connection.execute(text(
            "UPDATE reminder SET next_attempt_at = NULL WHERE id IN (SELECT id FROM reminder "
            "WHERE status = 'planned' ORDER BY due_on, id LIMIT :n)"), {"n": count}).rowcount
    engine.dispose()
    return released


def _round(url: str, base_url: str, redis_url: str | None, on: date, processes: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    children = [context.Process(target=_sender, args=(url, base_url, redis_url, on, ready, go, results))
                for _ in range(processes)]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)
    go.set()
    reports = [results.get(timeout=900) for _ in children]
    for child in children:
        child.join(30)
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    sent = sum(r["sent"] for r in reports)
    return {"processes": processes, "sent": sent, "seconds": seconds, "per_second": sent / seconds,
            "other": sum(r["other"] + r["skipped"] for r in reports),
            "cpu_ms": [1000 * r["cpu"] / max(r["sent"], 1) for r in reports], "load": load_average()}


def _recipients(url: str) -> list[str]:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        openids = list(connection.execute(text(
            "SELECT DISTINCT b.openid FROM reminder r JOIN binding b ON b.person_id = r.recipient_id "
            "WHERE r.status = 'planned'")).scalars())
    engine.dispose()
    return openids


def _sent_ids(url: str) -> list[int]:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        ids = list(connection.execute(text("SELECT id FROM reminder WHERE status = 'sent'")).scalars())
    engine.dispose()
    return ids


def run(url: str, redis_url: str | None, citizens: int, on: date, rounds: int, per_round: int) -> dict[str, Any]:
    """Build, plan, then ``rounds`` pairs of (one process, two processes); returns the figures."""
    from miniservice.reminders.planning import plan_reminders

    for line in machine_lines():
        print(line)
    db = prepare_database(url)
    generate(db.engine, citizens, on)
    planned = plan_reminders(db, on).total
    db.dispose()
    print(f"database: {url.split('@')[-1]}  citizens: {citizens:,}  planned for {on.isoformat()}: {planned:,}")
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).delete(f"miniservice:reminders:rate:{APP_ID}")
    context = multiprocessing.get_context("spawn")
    ready, stop, fake_results = context.Queue(), context.Event(), context.Queue()
    fake = context.Process(target=_fake, args=(_recipients(url), ready, stop, fake_results), daemon=True)
    fake.start()
    rows = []
    try:
        base_url = ready.get(timeout=300)
        print(f"{'round':>5} {'senders':>7} {'messages':>9} {'seconds':>8} {'sent/s':>8} {'vs one':>7} "
              f"{'CPU ms/message per sender':>26}  load")
        for number in range(rounds):
            for processes in (1, 2):
                _release_slice(url, per_round * processes)
                row = _round(url, base_url, redis_url, on, processes)
                ratio = row["per_second"] / rows[-1]["per_second"] if processes == 2 else None
                row["ratio"] = ratio
                rows.append(row)
                print(f"{number + 1:>5} {processes:>7} {row['sent']:>9} {row['seconds']:>8.2f} "
                      f"{row['per_second']:>8.1f} {'' if ratio is None else f'{ratio:.2f}x':>7} "
                      f"{' '.join(f'{ms:.1f}' for ms in row['cpu_ms']):>26}  {row['load']}"
                      + (f"  not sent: {row['other']}" if row["other"] else ""), flush=True)
    finally:
        stop.set()
    fake_report = fake_results.get(timeout=120)
    fake.join(30)
    calls: dict[str, int] = fake_report["calls"]
    sent = _sent_ids(url)
    repeated = sum(1 for count in calls.values() if count > 1)
    missing = sum(1 for reminder_id in sent if calls.get(f"reminder-{reminder_id}", 0) != 1)
    extra = len(calls) - len(sent)
    ratios = [row["ratio"] for row in rows if row["ratio"] is not None]
    total_seconds = sum(row["seconds"] for row in rows)
    print(f"two senders / one: {' '.join(f'{r:.2f}x' for r in ratios)} (goal ≥ 1.70x)")
    print(f"exactly once: {len(sent)} reminders sent, {sum(calls.values())} calls to the fake API; "
          f"client_msg_ids called more than once: {repeated}; sent reminders without exactly one call: {missing}; "
          f"calls for reminders not marked sent: {extra}")
    if total_seconds:
        print(f"fake WeChat API: {fake_report['cpu']:.1f} CPU seconds over {total_seconds:.1f} s of rounds "
              f"({fake_report['cpu'] / total_seconds:.0%} of one core)")
    return {"rows": rows, "ratios": ratios, "repeated": repeated, "missing": missing, "extra": extra,
            "sent": len(sent)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="SQLite, a few hundred citizens, one round (CI)")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_SEND_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{SEND_DB}"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_SEND_REDIS_URL", "redis://127.0.0.1:6379/6"),
                        help="the senders' shared rate bucket ('' for none)")
    parser.add_argument("--citizens", type=int, default=120_000)
    parser.add_argument("--date", default="2025-12-01")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=1000, help="messages per sender process per round")
    parser.add_argument("--keep", action="store_true", help="leave the database in place")
    args = parser.parse_args(argv)
    on = date.fromisoformat(args.date)
    if args.smoke:
        with tempfile.TemporaryDirectory() as scratch:
            result = run(f"sqlite:///{scratch}/send.db", None, 400, on, 1, 10)
        return 0 if result["repeated"] == result["missing"] == result["extra"] == 0 else 1
    try:
        result = run(args.database_url, args.redis_url or None, args.citizens, on, args.rounds, args.per_round)
    finally:
        if not args.keep:
            drop(args.database_url)
            print(f"dropped {SEND_DB}")
    return 0 if result["repeated"] == result["missing"] == result["extra"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
