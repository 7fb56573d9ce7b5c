"""A manual clock, so token and OAuth-code expiry can be tested without sleeping for hours."""

from __future__ import annotations

import threading
import time


class ManualClock:
    """A callable returning epoch seconds that only moves when told to.

    Pass it as ``clock=`` to :class:`~miniservice.devtools.fake_wechat.FakeWeChat`; it is safe to
    advance from the test thread while server threads read it.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now
