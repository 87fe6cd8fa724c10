"""The wire format between the test suite's fork server (:mod:`tests.zygote`) and its
clients (:mod:`tests.forked` for the bots the tests start, :mod:`tests.worker_launcher` for
the xdist workers): one request per Unix-socket connection, a length-prefixed JSON header
sent with the child's stdin, stdout and stderr as file descriptors (SCM_RIGHTS); the
server's answers on the same connection are JSON lines (the child's pid, then its wait
status and CPU time).

Standard library only and little of it: the workers' launcher imports this module in an
interpreter started without ``site`` (its whole cost is the worker's start-up).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
from typing import Any

_HEADER = struct.Struct("!I")


def request(path: str, header: dict[str, Any], fds: list[int]) -> socket.socket:
    """Connect to the server listening at ``path`` and send it one request (blocking);
    the connection, to read the answers from."""
    payload = json.dumps(header).encode()
    message = _HEADER.pack(len(payload)) + payload
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        sent = socket.send_fds(conn, [message], fds)
        conn.sendall(message[sent:])
    except BaseException:
        conn.close()
        raise
    return conn


def receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """In the server: a request's header and the descriptors sent with it. Raises
    ``EOFError``, ``OSError`` or ``ValueError`` on a broken request (its descriptors
    closed)."""
    fds: list[int] = []
    try:
        (size,) = _HEADER.unpack(_recv_exact(conn, _HEADER.size, fds))
        header = json.loads(_recv_exact(conn, size, fds))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if not isinstance(header, dict):
        raise ValueError(header)
    return header, fds


def _recv_exact(conn: socket.socket, size: int, fds: list[int]) -> bytes:
    data = b""
    while len(data) < size:
        chunk, got, _, _ = socket.recv_fds(conn, size - len(data), 3)
        if not chunk:
            raise EOFError
        fds.extend(got)
        data += chunk
    return data


def answer(conn: socket.socket, message: dict[str, Any]) -> None:
    """In the server: one answer (a JSON line). A client gone meanwhile is ignored."""
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(message).encode() + b"\n")


def split_answer(received: bytes) -> tuple[dict[str, Any] | None, bytes]:
    """The first whole answer in ``received`` (``None`` if there is none yet) and what
    follows it."""
    if b"\n" not in received:
        return None, received
    line, rest = received.split(b"\n", 1)
    message = json.loads(line)
    assert isinstance(message, dict)
    return message, rest


def read_answer(conn: socket.socket, received: bytes = b"") -> tuple[dict[str, Any], bytes]:
    """Block until the next answer (after ``received``, what was read already); raises
    ``EOFError`` if the server hangs up first."""
    while True:
        message, rest = split_answer(received)
        if message is not None:
            return message, rest
        chunk = conn.recv(4096)
        if not chunk:
            raise EOFError
        received += chunk
