"""Run a WSGI app on loopback in a background thread (used by the fake WeChat server and by tests).

A real socket rather than a test client, because the code under test uses ``requests`` exactly as it
would against WeChat: timeouts, redirects and connection handling are exercised for real.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access-log line per request (tests stay readable)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class BackgroundServer:
    """A threaded werkzeug server on ``host:port`` (port 0 picks a free one) in a daemon thread."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port; only meaningful after :meth:`start`."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.port)

    @property
    def base_url(self) -> str:
        """``http://host:port/`` with a trailing slash, ready for string concatenation of paths."""
        return f"http://{self.host}:{self.port}/"

    def start(self) -> Self:
        """Bind and start serving; returns self so ``x = BackgroundServer(app).start()`` reads well."""
        if self._server is not None:
            return self
        handler = _QuietHandler if self._quiet else None
        self._server = make_server(self.host, self._requested_port, self.app, threaded=True,
                                   request_handler=handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"wsgi-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the socket; idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
