"""What the load generator reports besides percentiles: where the slow replies of a run came from."""

from __future__ import annotations

from bench.common import tcp_counters
from bench.loadgen import Tally, stalls


def test_slow_replies_are_grouped_by_the_second_they_were_sent_in() -> None:
    tally = Tally(latencies=[0.01, 2.9, 3.0, 0.02, 0.7, 0.4], sent_at=[0.1, 12.2, 12.9, 13.0, 40.5, 41.0])
    assert stalls(tally) == [{"second": 12, "count": 2, "max_ms": 3000.0}, {"second": 40, "count": 1, "max_ms": 700.0}]


def test_a_run_without_slow_replies_reports_no_stalls() -> None:
    assert stalls(Tally(latencies=[0.01, 0.49], sent_at=[0.0, 1.0])) == []


def test_tcp_counters_are_read_from_this_linux_machine_as_whole_numbers() -> None:
    counters = tcp_counters()
    assert set(counters) == {"TcpExt:ListenOverflows", "TcpExt:ListenDrops", "TcpExt:TCPSynRetrans", "Tcp:RetransSegs"}
    assert all(isinstance(value, int) and value >= 0 for value in counters.values())
