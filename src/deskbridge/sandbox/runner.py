"""Serve an ASGI app with uvicorn in a background thread on a socket bound up front (no free-port race)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """uvicorn in a daemon thread (the httpx test-suite pattern), for tests, benchmarks and the demo."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind ``host:port`` now (port 0 picks a free one); serving starts with :meth:`start`."""
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="auto",
            loop="auto",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self._sock])

    def start(self, timeout: float = 30.0) -> None:
        """Start serving; return once the server accepts connections.

        Raises:
            RuntimeError: It did not start within ``timeout`` seconds.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the sandbox server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
