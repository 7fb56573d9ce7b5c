"""A loopback HTTP load generator for pre-built WeChat deliveries (asyncio, standard library only).

Run as its own process so that it does not share a GIL with what it measures::

    python -m bench.loadgen --port 8000 --requests reqs.pickle --closed 16          # saturation
    python -m bench.loadgen --port 8000 --requests reqs.pickle --rate 250           # fixed arrival rate

``reqs.pickle`` is a list of complete HTTP/1.1 requests (bytes, ``Connection: close``: gunicorn's
sync workers close every connection anyway), built before timing by :mod:`bench.callback`. Each
request is sent once, in order. Closed mode keeps N requests in flight (throughput at saturation);
open mode starts request i at t0 + i/rate whatever happened before, and measures latency from that
scheduled start, so a server that falls behind shows it in the tail instead of slowing the sender
(no coordinated omission). A request is an error unless it gets HTTP 200 with ``success`` or an
XML reply within WeChat's 5 seconds (``--pages``: HTTP 200 with an HTML page). Prints one JSON line.
Loopback only: the host is fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.common import percentile

HOST = "127.0.0.1"
DEADLINE = 5.0  # WeChat retries a callback that has not answered in 5 seconds


PAGES = False  # --pages: the requests are GETs of H5 pages, not WeChat deliveries
SLOW = 0.5  # a reply this late is reported with when it was sent (see ``stalls``)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # beside each latency: when it was sent
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0


def _acceptable(status: int, body: bytes) -> bool:
    if PAGES:
        return status == 200 and b"<html" in body[:200].lower()
    return status == 200 and (body.strip() in (b"", b"success") or body.lstrip().startswith(b"<xml>"))


async def _exchange(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")),
                      None)
        body = await (reader.readexactly(length) if length is not None else reader.read())
        return status, body
    finally:
        writer.close()


async def _one(port: int, request: bytes, since: float, tally: Tally) -> None:
    try:
        status, body = await asyncio.wait_for(_exchange(port, request), DEADLINE)
    except TimeoutError:
        tally.errors["timeout"] += 1
        return
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        tally.errors[type(exc).__name__] += 1
        return
    if not _acceptable(status, body):
        tally.errors[f"http {status}"] += 1
        return
    tally.latencies.append(time.perf_counter() - since)
    tally.sent_at.append(since - tally.started)


async def closed_loop(port: int, requests: list[bytes], concurrency: int, max_seconds: float) -> Tally:
    tally = Tally(started=time.perf_counter())
    pending = iter(requests)
    stop_at = tally.started + max_seconds

    async def worker() -> None:
        for request in pending:
            if time.perf_counter() > stop_at:
                return
            await _one(port, request, time.perf_counter(), tally)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.finished = time.perf_counter()
    return tally


async def open_loop(port: int, requests: list[bytes], rate: float) -> Tally:
    tally = Tally(started=time.perf_counter())
    tasks = []
    for index, request in enumerate(requests):
        scheduled = tally.started + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(port, request, scheduled, tally)))
    await asyncio.gather(*tasks)
    tally.finished = time.perf_counter()
    return tally


def stalls(tally: Tally) -> list[dict[str, float]]:
    """Replies slower than ``SLOW``, grouped by the second they were sent in: a pause of the server
    shows as one group of many, a slow handler as scattered ones (where a p99 comes from)."""
    groups: dict[int, list[float]] = {}
    for sent_at, latency in zip(tally.sent_at, tally.latencies, strict=True):
        if latency > SLOW:
            groups.setdefault(int(sent_at), []).append(latency)
    return [{"second": second, "count": len(group), "max_ms": round(max(group) * 1000, 1)}
            for second, group in sorted(groups.items())]


def summary(tally: Tally, sent: int) -> dict[str, object]:
    seconds = tally.finished - tally.started
    ms = [latency * 1000 for latency in tally.latencies]
    return {"sent": sent, "ok": len(ms), "errors": sum(tally.errors.values()), "error_kinds": dict(tally.errors),
            "seconds": seconds, "rps": len(ms) / seconds if seconds else 0.0, "p50_ms": percentile(ms, 50),
            "p90_ms": percentile(ms, 90), "p99_ms": percentile(ms, 99), "max_ms": max(ms, default=float("nan")),
            "load": " ".join(f"{value:.2f}" for value in os.getloadavg()), "stalls": stalls(tally)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True, help="pickle: list of HTTP request bytes")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--closed", type=int, metavar="N", help="keep N requests in flight")
    mode.add_argument("--rate", type=float, metavar="R", help="start R requests a second")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="closed mode: stop after this long")
    parser.add_argument("--pages", action="store_true", help="the requests are H5 pages: expect HTML")
    args = parser.parse_args(argv)
    global PAGES
    PAGES = args.pages
    with open(args.requests, "rb") as handle:
        requests: list[bytes] = pickle.load(handle)
    if args.closed:
        tally = asyncio.run(closed_loop(args.port, requests, args.closed, args.max_seconds))
        sent = len(tally.latencies) + sum(tally.errors.values())
    else:
        tally = asyncio.run(open_loop(args.port, requests, args.rate))
        sent = len(requests)
    print(json.dumps(summary(tally, sent)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
