"""Serving the sandbox app with uvicorn: in the foreground, or in a background thread.

``run`` binds the socket itself, so a busy port raises ``OSError`` (the CLI turns it
into one clear line) instead of uvicorn's ``sys.exit``. ``serve_in_thread`` is for
tests and ``cardrecon demo``: it listens on a free loopback port, yields the base URL
(``http://127.0.0.1:PORT/openapi``) once the server accepts connections, and stops
it on exit.

Neither adds uvicorn's own ``Date`` header: the app (``sandbox.middleware.ServiceClock``) sends
the service's clock as ``Date``, so a reply carries exactly one.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from sandbox.state import BASE

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port); OSError if busy."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on sockets that say TCP,
    # and without it every keep-alive reply waits ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Serve ``app`` until Ctrl-C (blocking). Raises OSError when the port is taken.

    Requests are logged by the app itself (``sandbox.access``, query parameters that
    name a secret or token redacted) instead of uvicorn's access log.
    """
    sock = _bind(host, port)
    _log_to_stderr(log_level)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
        date_header=False,  # the app sends the service's own clock as Date
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _log_to_stderr(level: str) -> None:
    logger = logging.getLogger("sandbox")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` on ``host:port`` in a daemon thread; yield ``http://host:port/openapi``."""
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        date_header=False,  # the app sends the service's own clock as Date
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"sandbox-{bound_port}", daemon=True)
    thread.start()
    try:
        _wait_until_serving(server, thread, failure, host, bound_port)
        netloc = f"[{host}]" if ":" in host else host
        yield f"http://{netloc}:{bound_port}{BASE}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()


def _wait_until_serving(
    server: uvicorn.Server,
    thread: threading.Thread,
    failure: list[BaseException],
    host: str,
    port: int,
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if failure or not thread.is_alive():
            cause = failure[0] if failure else None
            raise RuntimeError(f"the sandbox server on {host}:{port} did not start") from cause
        if server.started:
            with contextlib.suppress(OSError), socket.create_connection((host, port), 1.0):
                return
        time.sleep(0.01)
    raise RuntimeError(f"the sandbox server on {host}:{port} did not start in {START_TIMEOUT} s")


__all__ = ["run", "serve_in_thread"]
