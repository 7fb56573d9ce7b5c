"""Each benchmark's smoke mode, run as a real process, so that the scripts cannot rot.

The numbers at these sizes mean nothing and are not checked; what is checked is that every script
runs end to end and that the properties it reports hold: no request errors, one ``inbound_delivery``
row per distinct delivery despite retries, reminders planned and sent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from miniservice.config import PROJECT_ROOT


def run_smoke(module: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run([sys.executable, "-m", module, "--smoke", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{module} exited {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def test_quote_engine_smoke_prints_a_rate_for_every_case() -> None:
    output = run_smoke("bench.quote_engine")
    rows = [line for line in output.splitlines() if re.search(r"\d[\d,]* +\d+ +[\d,]+ +[\d.]+x$", line)]
    assert len(rows) == 6, output
    assert "all cases (mean)" in output


def test_reminder_scan_smoke_plans_at_two_sizes_and_sends_at_the_configured_rate() -> None:
    output = run_smoke("bench.reminder_scan")
    plans = re.findall(r"^ +([\d,]+) +[\d.]+ +[\d.]+ +([\d,]+) +[\d.]+ +[\d.]+x ", output, re.MULTILINE)
    assert [size for size, _ in plans] == ["500", "1,500"], output
    assert all(int(planned.replace(",", "")) > 0 for _, planned in plans), output
    sends = re.findall(r"^ +(\d+|unthrottled) +1 +(\d+) +(\d+) +[\d.]+ +[\d.]+ .*?(\d+)$", output, re.MULTILINE)
    assert [(rate, count == sent, not_sent) for rate, count, sent, not_sent in sends] == [
        ("50", True, "0"), ("unthrottled", True, "0")], output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_callback_smoke_answers_every_delivery_once_under_gunicorn(backend: str) -> None:
    if backend == "postgresql" and not os.environ.get("MINISERVICE_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL not configured: set MINISERVICE_TEST_DATABASE_URL to run the gunicorn bench on it")
    output = run_smoke("bench.callback", "--backends", backend)
    assert re.search(r"^floor \(Flask\+wechatpy\) +saturation +\d+ +\d+ +0 ", output, re.MULTILINE), output
    verdicts = [line for line in output.splitlines() if "of the floor" in line]
    assert [line.split(":")[0] for line in verdicts] == [
        f"floor+key {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}",
        f"app {'SQLite' if backend == 'sqlite' else 'PostgreSQL+Redis'}"], output
    assert all("errors 0" in line and "no double effects" in line for line in verdicts), output
    assert "(failed handlers 0)" in verdicts[1], output


def test_callback_in_process_prints_the_app_and_the_floor_for_each_kind_of_delivery() -> None:
    output = run_smoke("bench.callback", "--in-process", "300", "--backends", "sqlite")
    assert re.search(r"^in-process, one thread, sqlite: \d+ deliveries, [\d.]+ ms", output, re.MULTILINE), output
    kinds = re.findall(r"^ +\d+ +[\d.]+ +[\d.]+ +-?[\d.]+  (.+)$", output, re.MULTILINE)
    assert {"click RECORDS", "click QUOTE", "click HELP", "subscribe", "all"} <= set(kinds), output


def test_callback_in_process_can_time_one_kind_of_delivery_alone() -> None:
    output = run_smoke("bench.callback", "--in-process", "300", "--only", "click HELP", "--backends", "sqlite")
    kinds = re.findall(r"^ +\d+ +[\d.]+ +[\d.]+ +-?[\d.]+  (.+)$", output, re.MULTILINE)
    assert kinds == ["click HELP", "all"], output


def test_callback_peers_smoke_serves_the_service_and_every_peer_the_same_traffic_then_the_pages() -> None:
    output = run_smoke("bench.callback", "--peers", "--backends", "sqlite", timeout=900)  # 7 servers: slow when loaded
    names = re.findall(r"^(\S.*?) +saturation +\d+ +\d+ +0 ", output, re.MULTILINE)
    assert names == ["miniservice SQLite", "typical SQLite (WAL)", "WeRoBot sessions", "WeRoBot no sessions",
                     "miniservice /h5/records", "miniservice /h5/quote", "typical /page"], output
    assert re.search(r"^SQLite: service / best storing peer [\d.]+; .*errors 0 .*\(no double effects\)$", output,
                     re.MULTILINE), output
    assert re.search(r"^SQLite: goal 1, the service's saturation / the best storing peer's, per round: [\d.]+ ",
                     output, re.MULTILINE), output
    assert re.search(r"^SQLite: goal 2, the service's p99 at 80% of its own saturation, per round: [\d.]+ ms", output,
                     re.MULTILINE), output
    pages = re.findall(r"^SQLite: goal 3, (\S+) saturation / the peer page's, per round: [\d.]+ .*"
                       r"p99 at 50/s: [\d.]+ ms", output, re.MULTILINE)
    assert pages == ["/h5/records", "/h5/quote"], output
    assert re.search(r"^SQLite pages: .* errors 0$", output, re.MULTILINE), output


def test_hot_paths_smoke_counts_calls_and_statements_of_each_page_and_the_round_trips_of_a_tap() -> None:
    output = run_smoke("bench.hot_paths")
    pages = re.findall(r"^  (/h5/\w+) +[\d.]+ ms CPU +[\d,]+ Python calls +[\d.]+ SQL statements per view$", output,
                       re.MULTILINE)
    assert pages[:2] == ["/h5/records", "/h5/quote"], output
    assert len(re.findall(r"ms CPU per look-up$", output, re.MULTILINE)) in (3, 6), output
    if os.environ.get("MINISERVICE_TEST_DATABASE_URL"):
        pings = re.findall(r"([\d.]+) pings per 帮助 tap$", output, re.MULTILINE)
        # pre-ping: a ping per checkout but a fresh connection's first; now none (no connection sat idle)
        before, now = (float(p) for p in pings)
        assert before >= 0.5 and now == 0.0, output
