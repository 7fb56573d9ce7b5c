"""More than one machine, on loopback: two web nodes behind nginx, two sender workers, two schedulers.

Every process is the one a province runs (``gunicorn wsgi:app``, ``miniservice outbox worker``,
``miniservice scheduler``, Debian's nginx), each in its own session so that killing one kills the whole
"machine", all against one PostgreSQL database (and Redis when configured). The test lives one
morning: citizens with gaps, the daily job fired in the job store, WeChat deliveries arriving through
nginx and repeated as WeChat repeats them — while a web node and a sender die by SIGKILL.

What must hold: one scheduler leads and plans once; every reminder reaches its citizen exactly once
(the rows the dead sender had claimed are taken over when their lease runs out, and the one it had in
flight is repeated under the same ``client_msg_id``, which WeChat shows once); every delivery has its
effect exactly once, whichever node took it and however often it came.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import create_engine, text

from bench.common import BENCH_DATA_KEY, with_database
from bench.population import generate
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database, init_db
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.simulator import CallbackAccount, build_delivery, post_delivery, subscribe_xml
from miniservice.rulebook.service import load_directory
from tests.conftest import PG_URL, REDIS_URL

pytestmark = [pytest.mark.deployment, pytest.mark.postgresql]

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
BIN = Path(sys.executable).parent
ZONE = ZoneInfo("Asia/Shanghai")
APP_ID, APP_SECRET, TOKEN = "wxcluster0000001", "cluster-secret", "clustertoken"
AES_KEY = "clusterAesKey0123456789abcdefghijklmnopqrst"  # 43 characters: safe mode, as in production
CITIZENS = 600  # about 60 reminders on the day: six seconds of sending at the rate below
RATE = 10  # messages a second, shared by every sender through Redis (each process's own without it)
VISITORS = 80  # new followers whose 关注 deliveries arrive through nginx, each twice
LEASE_SECONDS = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream miniservice {{
        server 127.0.0.1:{web_a} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{web_b} max_fails=1 fail_timeout=30s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://miniservice;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        }}
    }}
}}
"""


class Cluster:
    """The processes of the province, their logs, and a way to kill one machine."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """The machine dies: SIGKILL to every process of its session (gunicorn's workers too)."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
def province_database() -> Iterator[str]:
    """A database of its own: the leading scheduler's advisory lock is per database, and other tests'
    schedulers take the same lock in the shared test database."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set MINISERVICE_TEST_DATABASE_URL to run the cluster on it")
    name = f"miniservice_cluster_{os.getpid()}"
    admin = create_engine(with_database(PG_URL, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(PG_URL, name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sending_window(now: datetime) -> tuple[str, str]:
    """Quiet hours that surely contain the next few minutes, whatever the time of day."""
    return (now - timedelta(hours=2)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")


def _fire_daily_job(url: str) -> None:
    """What the clock does at MINISERVICE_REMINDER_TIME: the daily job's next run set to now in the job
    store, where the leading scheduler looks for due jobs each time it wakes (every 5 s at most)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from miniservice.reminders.scheduler import DAILY_JOB

    engine = create_engine(url)
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    job = _wait(lambda: store.lookup_job(DAILY_JOB), 60, "the leading scheduler to store its jobs")
    job.next_run_time = datetime.now(ZONE)
    store.update_job(job)
    engine.dispose()


def _deliver_like_wechat(url: str, account: CallbackAccount, xml: str, answered: Counter[str]) -> None:
    """One delivery posted twice (WeChat's retry, signed afresh), and again while it gets no 200."""
    successes = 0
    for _ in range(8):
        try:
            reply = post_delivery(url, account, build_delivery(account, xml), timeout=5)
            ok = reply.status == 200
            answer = f"HTTP {reply.status}"
        except requests.RequestException as exc:
            ok, answer = False, type(exc).__name__
        answered[answer] += 1
        successes += ok
        if successes == 2:
            return
    raise AssertionError(f"a delivery was never answered 200 after 8 tries; answers so far: {dict(answered)}")


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (Debian: apt-get install nginx)")
def test_a_province_on_two_web_nodes_two_senders_and_two_schedulers_loses_nothing(
    province_database: str, tmp_path: Path
) -> None:
    url = province_database
    db = Database(url)
    init_db(db)
    assert load_directory(db, PROJECT_ROOT / "policies", "test").ok
    today = datetime.now(ZONE).date()
    generate(db.engine, CITIZENS, today)
    with db.engine.connect() as connection:
        openids = list(connection.execute(text("SELECT openid FROM binding")).scalars())
    visitors = [f"visitor_{n}" for n in range(VISITORS)]

    with FakeWeChat(APP_ID, APP_SECRET) as fake:
        for openid in openids + visitors:
            fake.add_follower(openid, subscribe_templates=["*"])
        start, end = _sending_window(datetime.now(ZONE))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("MINISERVICE_", "WECHAT_"))}
        env |= {
            "MINISERVICE_ENV": "test", "MINISERVICE_DATABASE_URL": url, "MINISERVICE_SECRET_KEY": "cluster-secret",
            "MINISERVICE_DATA_KEY": BENCH_DATA_KEY, "MINISERVICE_INSTANCE_DIR": str(tmp_path / "instance"),
            "WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE": fake.base_url, "WECHAT_TEMPLATE_IDS": "gap_reminder=TPL-GAP,resident_period=TPL-RES",
            "MINISERVICE_REMINDER_RATE": str(RATE), "MINISERVICE_REMINDER_QUIET_START": start,
            "MINISERVICE_REMINDER_QUIET_END": end, "MINISERVICE_PROXY_HOPS": "1",
            # the daily job is fired by hand below; its own time stays half a day away
            "MINISERVICE_REMINDER_TIME": (datetime.now(ZONE) + timedelta(hours=12)).strftime("%H:%M"),
        }
        if REDIS_URL:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
            env["REDIS_URL"] = REDIS_URL
        cluster = Cluster(tmp_path, env)
        web = {"web_a": _free_port(), "web_b": _free_port()}
        port = _free_port()
        for directory in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / directory).mkdir()
        (tmp_path / "nginx.conf").write_text(NGINX_CONF.format(
            root=tmp_path, port=port, user="user root;" if os.geteuid() == 0 else "", **web))
        try:
            for name, web_port in web.items():
                cluster.start(name, [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{web_port}",
                                     "--no-control-socket", "wsgi:app"])  # one machine each: no shared socket
            cluster.start("nginx", [str(NGINX), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                    "-g", "daemon off;"])
            for name in ("scheduler_a", "scheduler_b"):
                cluster.start(name, [str(BIN / "miniservice"), "scheduler"])
            senders = {name: cluster.start(name, [str(BIN / "miniservice"), "outbox", "worker", "--idle-seconds",
                                                  "0.5", "--lease-seconds", str(LEASE_SECONDS)])
                       for name in ("sender_a", "sender_b")}
            _wait(lambda: all(_listening(p) for p in [port, *web.values()]), 60, "nginx and both web nodes")
            _fire_daily_job(url)

            # Deliveries through nginx while the morning's reminders go out; web node A dies halfway.
            callback = f"http://127.0.0.1:{port}/wechat/callback"
            account = CallbackAccount(token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)
            answered: Counter[str] = Counter()

            def deliver() -> None:
                for n, openid in enumerate(visitors):
                    if n == VISITORS // 2:
                        cluster.kill("web_a")
                    _deliver_like_wechat(callback, account, subscribe_xml(account, openid), answered)

            deliveries = threading.Thread(target=deliver)
            deliveries.start()

            # Sender A dies holding claimed reminders (seen in the database by its process id).
            pid_a = senders["sender_a"].pid
            with db.engine.connect() as connection:
                def a_holds_claims() -> bool:
                    connection.rollback()
                    return bool(connection.execute(text(
                        "SELECT count(*) FROM reminder WHERE status = 'sending' AND claimed_by LIKE :p"),
                        {"p": f"%:{pid_a}:%"}).scalar_one())

                _wait(a_holds_claims, 60, "sender A to claim reminders")
            cluster.kill("sender_a")
            deliveries.join(60)
            assert not deliveries.is_alive()

            def settled() -> bool:
                with db.engine.connect() as connection:
                    return connection.execute(text(
                        "SELECT count(*) = 0 FROM reminder WHERE status IN ('planned', 'sending')")).scalar_one()

            _wait(settled, 60, "every reminder to be sent (the dead sender's after its lease)")

            with db.engine.connect() as connection:
                reminders = connection.execute(text("SELECT id, status, planned_at FROM reminder")).all()
                effects = connection.execute(text(
                    "SELECT count(*), count(DISTINCT dedupe_key) FROM inbound_delivery "
                    "WHERE openid LIKE 'visitor_%'")).one()
                followers = connection.execute(text(
                    "SELECT count(*) FROM follower WHERE openid LIKE 'visitor_%' AND subscribed")).scalar_one()
        finally:
            cluster.stop_all()
            db.dispose()

        schedulers = {name: cluster.log(name) for name in ("scheduler_a", "scheduler_b")}
        leaders = [name for name, log in schedulers.items() if "this scheduler process leads" in log]
        standing_by = [name for name, log in schedulers.items() if "standing by" in log]
        assert len(leaders) == 1 and len(standing_by) == 1 and leaders != standing_by, (leaders, standing_by)
        assert len({planned_at for _, _, planned_at in reminders}) == 1  # one planning run
        assert len(reminders) >= 40 and {status for _, status, _ in reminders} == {"sent"}
        shown = Counter(m.body.get("client_msg_id") for m in fake.sent_messages() if m.kind == "template")
        assert shown == Counter({f"reminder-{reminder_id}": 1 for reminder_id, _, _ in reminders})
        assert effects == (VISITORS, VISITORS) and followers == VISITORS
        assert "sender worker" in cluster.log("sender_b")
