"""What every benchmark script shares: the machine it ran on, bench databases, waiting for a quiet machine.

Benchmarks print numbers measured side by side in one run; a figure means little without the
machine and the load it was measured under, so every script prints :func:`machine_lines` first and
the load average beside each phase.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text

from miniservice.config import PROJECT_ROOT
from miniservice.db import Database, init_db

BENCH_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/miniservice_bench"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
BENCH_DATA_KEY = "YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtbG9uZy0wMDA="  # 32 bytes, urlsafe base64
POLICIES = PROJECT_ROOT / "policies"
FLOOR_TABLE = "floor_delivery"  # the durable floor's one table: a delivery's unique key per row


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_lines() -> list[str]:
    return [f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {memory_gib():.1f} GiB, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
            f"load average at start: {load_average()}"]


def wait_for_quiet(limit: float, max_wait: float, poll: float = 60.0) -> str:
    """Wait (bounded) until the 1-minute load average is under ``limit``; returns what was seen."""
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        print(f"  waiting for load < {limit} (now {load_average()})", file=sys.stderr, flush=True)
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    return load_average()


def peak_rss_mib() -> float:
    """This process's peak resident set (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def fresh_postgres(url: str) -> None:
    """Drop and create the bench database (never one of the project's other databases)."""
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("miniservice_bench"):
        raise ValueError(f"refusing to recreate {name!r}: bench databases are named miniservice_bench*")
    admin = create_engine(with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def create_floor_table(url: str) -> None:
    """An empty :data:`FLOOR_TABLE` at ``url`` for the durable floor (:mod:`bench.floor_app`)."""
    engine = create_engine(url)
    if url.startswith("sqlite"):  # once, here: four workers switching the file to WAL at once can lock it
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))
        connection.execute(text(f"CREATE TABLE {FLOOR_TABLE} (dedupe_key VARCHAR(200) PRIMARY KEY, "
                                "received_at TIMESTAMP NOT NULL)"))
    engine.dispose()


def fake_wechat_knowing(app_id: str, secret: str, openids: list[str]) -> Any:
    """A fake WeChat API (not started yet) that knows every openid as a follower accepting every template."""
    from miniservice.devtools.fake_wechat import FakeWeChat

    fake = FakeWeChat(app_id, secret)
    for openid in openids:
        fake.add_follower(openid, subscribe_templates=["*"])
    return fake


def prepare_database(url: str) -> Database:
    """A migrated database with the shipped rules published (what ``init-db`` + ``policies load`` do)."""
    from miniservice.rulebook.service import load_directory

    if url.startswith("postgresql"):
        fresh_postgres(url)
    else:
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
    db = Database(url)
    init_db(db)
    report = load_directory(db, POLICIES, "bench")
    if not report.ok:
        raise RuntimeError(f"shipped rules did not load: {report.problems}")
    return db


TCP_COUNTERS = ("TcpExt:ListenOverflows", "TcpExt:ListenDrops", "TcpExt:TCPSynRetrans", "Tcp:RetransSegs")


def tcp_counters() -> dict[str, int]:
    """This machine's TCP counters that explain a stall on loopback: a full accept queue drops SYNs,
    and a dropped SYN is sent again after 1 s, then 3 s (Linux). Empty where /proc/net is absent."""
    found: dict[str, int] = {}
    for name in ("/proc/net/netstat", "/proc/net/snmp"):
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for header, values in zip(lines[::2], lines[1::2], strict=False):
            prefix, *names = header.split()
            found.update({f"{prefix}{key}": int(value) for key, value in zip(names, values.split()[1:], strict=False)})
    return {key: found[key] for key in TCP_COUNTERS if key in found}
