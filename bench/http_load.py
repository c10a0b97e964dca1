"""A lean closed-loop HTTP/1.1 load generator: the clients of a read benchmark.

The benchmarks run client and servers on the same two cores, so whatever CPU the clients burn is
taken from the servers and shows up as server latency. aiohttp spent about as much CPU per
request as the indicators service answering it. Like wrk, these clients keep one connection
each, send a request prepared in advance and read the answer by its length (or its chunks), with
httptools parsing the response in C; latencies are taken the same way (send to last byte).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import httptools


class BadAnswer(Exception):
    """An answer other than 200: a benchmark measures answers, not errors."""


class _Response:
    """Collects one response from httptools' callbacks."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.done = False
        self.body: list[bytes] = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive connection, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base: str) -> Connection:
        url = urlsplit(base)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        response = _Response()
        while not response.done:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            response.parser.feed_data(chunk)
        return response.parser.get_status_code(), b"".join(response.body)

    def close(self) -> None:
        self.writer.close()


def request_bytes(base: str, path: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(base).netloc
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def drive(
    base: str, paths: Iterable[str], headers: dict[str, str], concurrency: int
) -> list[float]:
    """Send every path with ``concurrency`` closed-loop clients; the latency of each answer."""
    requests = [request_bytes(base, path, headers) for path in paths]
    queue = iter(requests)
    latencies: list[float] = []

    async def client() -> None:
        connection = await Connection.open(base)
        try:
            for request in queue:
                started = time.perf_counter()
                status, body = await connection.get(request)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise BadAnswer(f"{status}: {body[:500]!r} for {request[:200]!r}")
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies
