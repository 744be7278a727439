"""Length-prefixed messages over file descriptors, with a size limit and an optional deadline."""

from __future__ import annotations

import os
import select
import struct
import time

_HEADER = struct.Struct("!I")


class Closed(EOFError):
    """The other end closed the channel (or died)."""


def frame(payload: bytes) -> bytes:
    """`payload` as one message on the wire."""
    return _HEADER.pack(len(payload)) + payload


def send(fd: int, payload: bytes) -> None:
    data = memoryview(frame(payload))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise TimeoutError("no message before the deadline")
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise Closed("channel closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, limit: int, deadline: float | None = None) -> bytes:
    """One message; Closed on end of file, TimeoutError past `deadline`, ValueError above `limit`."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > limit:
        raise ValueError(f"message of {size} bytes exceeds the limit of {limit}")
    return _read_exact(fd, size, deadline)


class Reader:
    """`receive` for a channel that only this reader reads: it takes whatever has arrived in one
    read and keeps the rest, so a message usually costs one system call instead of two or more."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def receive(self, limit: int, deadline: float | None = None) -> bytes:
        needed = _HEADER.size
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self.buffer)
                if size > limit:
                    raise ValueError(f"message of {size} bytes exceeds the limit of {limit}")
                needed = _HEADER.size + size
                if len(self.buffer) >= needed:
                    message = bytes(self.buffer[_HEADER.size : needed])
                    del self.buffer[:needed]
                    return message
            if deadline is not None:
                remaining = deadline - time.monotonic()
                poller = select.poll()
                poller.register(self.fd, select.POLLIN)
                if remaining <= 0 or not poller.poll(remaining * 1000):
                    raise TimeoutError("no message before the deadline")
            chunk = os.read(self.fd, max(1 << 16, needed - len(self.buffer)))
            if not chunk:
                raise Closed("channel closed")
            self.buffer += chunk
