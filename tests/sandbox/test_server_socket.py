"""The sandbox's listening socket: replies must not wait for the client's delayed ACK."""

from __future__ import annotations

import socket

from sandbox.server import _bind


def test_listening_socket_says_tcp_and_sets_nodelay() -> None:
    # asyncio turns TCP_NODELAY on for accepted connections only when the socket's proto
    # is IPPROTO_TCP; with proto 0 every keep-alive reply (headers and body written
    # separately) sat ~40 ms on Nagle + delayed ACK — found by benchmark B1.
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()
