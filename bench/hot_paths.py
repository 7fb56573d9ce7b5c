"""The hot paths of issue 20 measured in process, by counts that a busy machine does not blur.

``python -m bench.hot_paths`` prints, on SQLite (and PostgreSQL with ``--pg-url``):

* each citizen page (``/h5/records``, ``/h5/quote``) through Flask's test client as a signed-in
  citizen: this process's CPU per view (best of three), Python function calls per view (cProfile)
  and SQL statements per view;
* per 帮助 tap on PostgreSQL: SQL statements and pings (``do_ping``), i.e. round trips beyond the
  statements: what ``pool_pre_ping`` cost against pinging only idle connections (:mod:`miniservice.db`);
* what each rules cache of :mod:`miniservice.rulebook.resolve` saves per look-up.

CPU time is this process's only; the counts are the figures to compare across runs on a loaded
machine. ``--smoke`` runs each part briefly (tests/bench/test_smoke.py).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.callback import BENCH_PG_CALLBACK_URL, _seed, app_env, build_set, session_cookies
from bench.common import with_database


def _best_cpu_ms(run: Callable[[], None], count: int) -> float:
    spent = []
    for _ in range(3):
        before = time.process_time()
        run()
        spent.append((time.process_time() - before) / count * 1000)
    return min(spent)


def _calls(run: Callable[[], None], count: int) -> float:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return pstats.Stats(profiler).total_calls / count


def _app(database_url: str, bound: int, pre_ping: bool = False) -> Any:
    _seed(database_url, bound)
    os.environ.update(app_env(database_url, None, Path(tempfile.mkdtemp(prefix="bench-hot-"))))
    from miniservice import create_app

    app = create_app()
    if pre_ping:  # SQLAlchemy's own pre-ping, as the service had it before 2026-12-01
        app.extensions["miniservice.db"].engine.pool._pre_ping = True
    return app


def _statement_counter(app: Any) -> list[int]:
    counted = [0]
    event.listen(app.extensions["miniservice.db"].engine, "before_cursor_execute",
                 lambda *_: counted.__setitem__(0, counted[0] + 1))
    return counted


def pages(database_url: str, views: int) -> None:
    bound = 200
    app = _app(database_url, bound)
    statements = _statement_counter(app)
    cookies = session_cookies([f"obench{i}" for i in range(1, bound + 1)])
    client = app.test_client()
    for path in ("/h5/records", "/h5/quote"):
        def run(path: str = path) -> None:
            for index in range(views):
                client.set_cookie("session", cookies[index % bound], domain="localhost")
                if client.get(path).status_code != 200:
                    raise RuntimeError(f"{path} refused a signed-in citizen")
        run()  # warm
        cpu = _best_cpu_ms(run, views)
        statements[0] = 0
        calls = _calls(run, views)
        print(f"  {path:<12} {cpu:6.2f} ms CPU  {calls:8,.0f} Python calls  {statements[0] / views:4.1f} SQL "
              f"statements per view")
    app.extensions["miniservice.db"].dispose()


def round_trips(database_url: str, taps: int) -> None:
    for pre_ping in (True, False):
        app = _app(database_url, 300, pre_ping)
        engine = app.extensions["miniservice.db"].engine
        statements = _statement_counter(app)
        pings = [0]
        ping = engine.dialect.do_ping

        def counted(connection: Any, ping: Any = ping, pings: list[int] = pings) -> bool:
            pings[0] += 1
            return ping(connection)

        engine.dialect.do_ping = counted
        made = build_set([f"obench{i}" for i in range(1, 301)], taps, 0, random.Random(3),
                         mix=((1, "text", "帮助"),), retries=False)
        client = app.test_client()
        for raw in made.requests:
            head, body = raw.split(b"\r\n\r\n", 1)
            if client.post(head.split(b" ")[1].decode(), data=body, content_type="text/xml").status_code != 200:
                raise RuntimeError("a delivery was refused")
        label = "pool_pre_ping (before)" if pre_ping else "ping after 10 s idle (now)"
        print(f"  {label:<28} {statements[0] / taps:4.2f} statements  {pings[0] / taps:4.2f} pings per 帮助 tap")
        engine.dialect.do_ping = ping
        app.extensions["miniservice.db"].dispose()


def rules_caches(database_url: str, lookups: int) -> None:
    from miniservice.rulebook import resolve

    app = _app(database_url, 20)
    today = date.today()
    with app.app_context(), app.extensions["miniservice.db"].reading() as session:
        resolve.rules_in_force(session, "440300", today)
        chain = resolve.chain_in_force(session, "440300", today)
        for label, run in (
            ("remembered per region and day", lambda: resolve.rules_in_force(session, "440300", today)),
            ("chain read, resolved rules cached", lambda: resolve._cache.get(
                session, resolve.chain_in_force(session, "440300", today), {})),
            ("chain's texts resolved", lambda: resolve.resolve_chain("440300", resolve._texts(session, chain, {}))),
        ):
            def repeat(run: Callable[[], Any] = run) -> None:
                for _ in range(lookups):
                    run()
            print(f"  {label:<36} {_best_cpu_ms(repeat, lookups):7.3f} ms CPU per look-up")
    app.extensions["miniservice.db"].dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few of each, seconds (CI)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_CALLBACK_DATABASE_URL", BENCH_PG_CALLBACK_URL))
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    views, taps, lookups = (20, 20, 5) if args.smoke else (300, 600, 300)
    configured = os.environ.get("MINISERVICE_TEST_DATABASE_URL") if args.smoke else args.pg_url
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-hot-") as scratch:
        urls = [("SQLite", f"sqlite:///{scratch}/hot.db")] if "sqlite" in backends else []
        if configured and "postgresql" in backends:
            name = "miniservice_bench_smoke_hot" if args.smoke else "miniservice_bench_hot"
            urls.append(("PostgreSQL", with_database(configured, name)))
        for label, url in urls:
            print(f"{label}: citizen pages, in process")
            pages(url, views)
            print(f"{label}: rules look-ups")
            rules_caches(url, lookups)
            if label == "PostgreSQL":
                print(f"{label}: round trips of a 帮助 tap")
                round_trips(url, taps)
    print(f"load {' '.join(f'{value:.2f}' for value in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
