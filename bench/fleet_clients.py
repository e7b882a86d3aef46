#!/usr/bin/env python3
"""Why the fleet client is aiohttp: the same streamed completions through aiohttp and httpx.

Against one bundled simulated endpoint that answers at once (2 tokens, no simulated time),
each client streams N requests with 64 in flight, reading the SSE stream with the fleet's own
parser (`engine.fleet.api`), and then N/4 requests one at a time:

- `client_<name>_rps`: streamed requests per second with 64 in flight;
- `client_<name>_cpu_us_per_request`: this process's CPU per request at that load;
- `client_<name>_latency_ms_p50`: send to `[DONE]`, one request in flight.

httpx is an optional extra (`pip install -e '.[bench]'`); without it its lines say missing.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, note, use_repo

use_repo()

from engine.fleet import api  # noqa: E402
from tests.support.endpoints import EndpointLab  # noqa: E402

N = 3000
IN_FLIGHT = 64
BODY = api.completion_body("sim-llm", [128000, 1, 2, 3], api.Sampling(max_tokens=2))


async def read_events(chunks) -> int:  # noqa: ANN001
    decoder, n = api.SseDecoder(), 0
    async for raw in chunks:
        for data in decoder.feed(raw):
            if data == api.DONE:
                return n
            api.parse_chunk(data)
            n += 1
    raise RuntimeError("stream ended without [DONE]")


async def with_aiohttp(url: str, count: int, in_flight: int) -> list[float]:
    import aiohttp

    latencies: list[float] = []
    sem = asyncio.Semaphore(in_flight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            async with sem:
                t = time.perf_counter()
                async with session.post(
                    url, data=BODY, headers={"Content-Type": "application/json"}
                ) as resp:
                    await read_events(resp.content.iter_any())
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(one() for _ in range(count)))
    return latencies


async def with_httpx(url: str, count: int, in_flight: int) -> list[float]:
    import httpx

    latencies: list[float] = []
    sem = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:

        async def one() -> None:
            async with sem:
                t = time.perf_counter()
                async with client.stream(
                    "POST", url, content=BODY, headers={"Content-Type": "application/json"}
                ) as resp:
                    await read_events(resp.aiter_raw())
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(one() for _ in range(count)))
    return latencies


async def measure(name: str, fn, url: str) -> None:  # noqa: ANN001
    try:
        __import__(name)
    except ImportError:
        note(f"{name} is not installed (pip install -e '.[bench]')")
        for k in ("rps", "cpu_us_per_request", "latency_ms_p50"):
            figure(f"client_{name}_{k}", None)
        return
    await fn(url, 200, IN_FLIGHT)  # warm: connections, imports
    wall, cpu = time.perf_counter(), time.process_time()
    await fn(url, N, IN_FLIGHT)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    serial = await fn(url, N // 4, 1)
    figure(f"client_{name}_rps", N / wall)
    figure(f"client_{name}_cpu_us_per_request", cpu / N * 1e6)
    figure(f"client_{name}_latency_ms_p50", statistics.median(serial) * 1000)


async def main() -> None:
    print(f"machine: {machine()}")
    print(f"load_1min_before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="mlconsole-bench-clients-") as tmp:
        lab = EndpointLab(Path(tmp))
        try:
            ep = lab.start(tokens_per_s=1e9, concurrency=4096, prefill_ms=0)
            url = ep.url + api.COMPLETIONS_PATH
            await measure("aiohttp", with_aiohttp, url)
            await measure("httpx", with_httpx, url)
        finally:
            lab.close()
    print(f"load_1min_after: {load_average()}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
