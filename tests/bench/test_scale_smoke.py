"""The province-scale benchmarks' smoke modes (bench/plan_scale.py, bench/send_scale.py), run as real
processes on SQLite: the scripts run end to end, plan at both sizes, and send each reminder once."""

from __future__ import annotations

import re

from tests.bench.test_smoke import run_smoke


def test_plan_scale_smoke_builds_and_plans_two_sizes_in_their_own_databases() -> None:
    output = run_smoke("bench.plan_scale")
    plans = re.findall(r"^ +([\d,]+) +[\d.]+ +[\d.]+ +[\d,]+ +([\d,]+) +[\d.]+x ", output, re.MULTILINE)
    assert [size for size, _ in plans] == ["120", "360"], output
    assert int(plans[0][1]) < int(plans[1][1]), output  # the larger city has more gaps to remind of


def test_send_scale_smoke_runs_one_and_two_senders_and_sends_each_reminder_once() -> None:
    output = run_smoke("bench.send_scale")
    rounds = re.findall(r"^ +1 +([12]) +(\d+) ", output, re.MULTILINE)
    assert [senders for senders, _ in rounds] == ["1", "2"] and all(int(sent) > 0 for _, sent in rounds), output
    assert "client_msg_ids called more than once: 0; sent reminders without exactly one call: 0; " \
           "calls for reminders not marked sent: 0" in output, output
