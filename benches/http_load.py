"""A load generator for the HTTP benchmarks, run as its own process (so its CPU is not the server's): keep-alive
HTTP/1.1 connections on asyncio streams, each sending the next request as soon as the previous one was answered.

    python benches/http_load.py URL REQUESTS.json CONNECTIONS

``REQUESTS.json``: ``{"headers": {...}, "bodies": ["<latin-1 text>", ...]}``, sent round-robin until every body
was sent once. Prints ``{"seconds", "statuses", "accepted"}`` as JSON (``accepted`` summed from JSON answers).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit


async def _connection(host: str, port: int, path: str, head: bytes, bodies: list[bytes], next_i: list[int],
                      statuses: Counter[int], accepted: list[int]) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(host, port)
    while next_i[0] < len(bodies):
        body = bodies[next_i[0]]
        next_i[0] += 1
        writer.write(b"POST %s HTTP/1.1\r\nhost: %s\r\n%scontent-length: %d\r\n\r\n" % (path.encode(), host.encode(),
                     head, len(body)) + body)  # fmt: skip
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answer = await reader.readexactly(length) if length else b""
        status = int(status_line.split()[1])
        statuses[status] += 1
        if answer.startswith(b"{") and b'"accepted"' in answer:
            accepted[0] += json.loads(answer)["accepted"]
    writer.close()


async def main(url: str, spec: dict[str, object], connections: int) -> dict[str, object]:
    parts = urlsplit(url)
    headers = spec["headers"]
    assert isinstance(headers, dict)
    head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers.items())
    bodies = [b.encode("latin-1") for b in spec["bodies"]]  # type: ignore[union-attr]
    statuses: Counter[int] = Counter()
    accepted, next_i = [0], [0]
    start = time.perf_counter()
    await asyncio.gather(*(_connection(parts.hostname or "", parts.port or 80, parts.path, head, bodies, next_i,
                                       statuses, accepted) for _ in range(connections)))  # fmt: skip
    return {"seconds": time.perf_counter() - start, "statuses": dict(statuses), "accepted": accepted[0]}


if __name__ == "__main__":
    with open(sys.argv[2], encoding="latin-1") as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(main(sys.argv[1], spec, int(sys.argv[3])))))
