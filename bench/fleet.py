#!/usr/bin/env python3
"""Fleet runs: one LoadGen on this machine over bundled simulated endpoints on loopback
(`engine.harness.endpoint`, real HTTP; the endpoints' speeds are simulated).

- `fleet_efficiency_2p1x`: one Offline LoadGen run over two endpoints 2.1x apart (2100 and
  1000 tokens/s with 8 slots busy) / the sum of each endpoint's own LoadGen tokens/s measured
  alone in this script, each alone run about as long as the fleet run. Target >= 0.97.
- `fleet_efficiency_slowdown`: the same fleet, the fast endpoint slowed to half speed halfway
  through (POST /simulation), / the ideal for that slowdown computed from the alone rates
  (both at full rate until the slowdown, then fast at half). Target >= 0.95. Beside it,
  `fleet_static_shards_slowdown`: what shards sized 2.1:1 before the run would reach under the
  same slowdown (computed from the same alone rates: the fast shard finishes late).
- `fleet_dispatch_qps`: queries per second LoadGen plus the fleet client sustain (Offline)
  against two endpoints that answer at once (2 tokens, no simulated time), with
  `fleet_cpu_us_per_query` (this process: LoadGen, dispatcher, client) and the endpoints'.
  Target >= 2,000/s on 2 cores.
- `fleet_ttft_overhead_ms`: LoadGen's median TTFT minus the endpoint's own median time to
  first token (arrival to first chunk written, from its /simulation), Server at a light load.
  Target <= 2 ms.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from figure_lines import figure, load_average, machine, note, use_repo

use_repo()

from engine.fleet import api  # noqa: E402
from engine.fleet.run import EndpointTarget, FleetRequest, run_fleet  # noqa: E402
from tests.support.endpoints import EndpointLab, sim_request  # noqa: E402

FAST, SLOW = 2100.0, 1000.0
TOKENS = 64
FLEET_SAMPLES = 900  # ~19 s at 3100 tokens/s
SERVER_CONF = "demo.Server.use_token_latencies = 1\ndemo.Server.ttft_latency = 2000\n"


def request(samples: int, **kw: object) -> FleetRequest:
    return sim_request(samples, "demo", TOKENS, **kw)


def summary_value(run_dir: Path, label: str) -> float | None:
    text = (run_dir / "mlperf_log_summary.txt").read_text()
    m = re.search(rf"^{re.escape(label)}\s*:\s*([0-9.eE+-]+)", text, re.MULTILINE)
    return float(m.group(1)) if m else None


def tokens_per_s(run_dir: Path) -> float | None:
    return summary_value(run_dir, "Tokens per second")


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def efficiency(lab: EndpointLab, root: Path) -> None:
    fast = lab.start(tokens_per_s=FAST, concurrency=8, prefill_ms=10, stream_interval=4)
    slow = lab.start(tokens_per_s=SLOW, concurrency=8, prefill_ms=10, stream_interval=4)
    t_fast, t_slow = (EndpointTarget("fast", fast.url, 64), EndpointTarget("slow", slow.url, 64))
    share = FAST / (FAST + SLOW)
    await run_fleet(request(round(FLEET_SAMPLES * share)), [t_fast], root / "fast")
    await run_fleet(request(round(FLEET_SAMPLES * (1 - share))), [t_slow], root / "slow")
    r_fast, r_slow = tokens_per_s(root / "fast"), tokens_per_s(root / "slow")
    out = await run_fleet(request(FLEET_SAMPLES), [t_fast, t_slow], root / "fleet")
    r_fleet = tokens_per_s(root / "fleet")
    note(f"alone: fast {r_fast:.0f}, slow {r_slow:.0f} tokens/s (LoadGen); fleet {r_fleet:.0f}")
    shares = {e["node"]: e["queries"] for e in out.endpoints}
    note(f"fleet shares: {shares}; retries {out.retries}")
    figure("fleet_efficiency_2p1x", r_fleet / (r_fast + r_slow))

    # The same fleet, fast slowed to half speed halfway through the expected duration.
    work = FLEET_SAMPLES * TOKENS
    t_switch = work / (r_fast + r_slow) / 2
    started = time.monotonic()
    slowed_at: list[float] = []

    def progress(p) -> None:  # noqa: ANN001
        if not slowed_at and time.monotonic() - started >= t_switch:
            fast.control(speed=0.5)
            slowed_at.append(time.time())

    out = await run_fleet(
        request(FLEET_SAMPLES), [t_fast, t_slow], root / "slowdown", on_progress=progress
    )
    fast.control(speed=1.0)
    r_slowdown = tokens_per_s(root / "slowdown")
    # The switch as LoadGen's clock saw it (LoadGen started at out.start_unix).
    t_switch = slowed_at[0] - out.start_unix
    # Ideal: full rates until the switch, then fast at half, all work shared perfectly.
    done_before = (r_fast + r_slow) * t_switch
    ideal_s = t_switch + (work - done_before) / (r_fast / 2 + r_slow)
    ideal = work / ideal_s
    # Static shards sized 2.1:1 from the alone rates, same slowdown.
    w_fast = work * r_fast / (r_fast + r_slow)
    fast_s = (
        w_fast / r_fast
        if w_fast <= r_fast * t_switch
        else t_switch + (w_fast - r_fast * t_switch) / (r_fast / 2)
    )
    static = work / max(fast_s, (work - w_fast) / r_slow)
    shares = {e["node"]: e["queries"] for e in out.endpoints}
    note(
        f"slowdown at {t_switch:.1f} s: fleet {r_slowdown:.0f} tokens/s, ideal {ideal:.0f}; "
        f"shares {shares}"
    )
    figure("fleet_efficiency_slowdown", r_slowdown / ideal)
    figure("fleet_static_shards_slowdown", static / ideal)
    fast.stop()
    slow.stop()


async def dispatch(lab: EndpointLab, root: Path) -> None:
    eps = [lab.start(tokens_per_s=1e9, concurrency=4096, prefill_ms=0) for _ in range(2)]
    targets = [EndpointTarget(f"e{i}", e.url, 128) for i, e in enumerate(eps)]
    n = 8000
    cpu0 = time.process_time()
    ep_cpu0 = [cpu_of(e.proc.pid) for e in eps]
    out = await run_fleet(
        request(n, sampling=api.Sampling(max_tokens=2)), targets, root / "dispatch"
    )
    cpu = time.process_time() - cpu0
    ep_cpu = sum(cpu_of(e.proc.pid) - c for e, c in zip(eps, ep_cpu0, strict=True))
    qps = summary_value(root / "dispatch", "Samples per second")
    note(f"{out.completed} queries in {out.duration_s:.2f} s wall, {out.failed} failed")
    figure("fleet_dispatch_qps", qps)
    figure("fleet_cpu_us_per_query", cpu / n * 1e6)
    figure("fleet_endpoint_cpu_us_per_query", ep_cpu / n * 1e6)
    for e in eps:
        e.stop()


async def ttft(lab: EndpointLab, root: Path) -> None:
    ep = lab.start(tokens_per_s=4000, concurrency=64, prefill_ms=20)
    out = await run_fleet(
        request(
            300,
            scenario="Server",
            target_qps=30.0,
            user_conf=SERVER_CONF,
            sampling=api.Sampling(max_tokens=16),
        ),
        [EndpointTarget("e0", ep.url, 64)],
        root / "ttft",
    )
    lg_ttft = summary_value(root / "ttft", "50.00 percentile first token latency (ns)")
    own = ep.state()["ttft_median_s"]
    note(
        f"LoadGen TTFT p50 {lg_ttft / 1e6:.2f} ms, endpoint's own {own * 1000:.2f} ms, "
        f"client (from send) p50 {out.client['ttft_s']['p50'] * 1000:.2f} ms"
    )
    figure("fleet_ttft_overhead_ms", lg_ttft / 1e6 - own * 1000)
    ep.stop()


async def main() -> None:
    print(f"machine: {machine()}")
    print(f"load_1min_before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="mlconsole-bench-fleet-") as tmp:
        root = Path(tmp)
        lab = EndpointLab(root)
        try:
            await efficiency(lab, root)
            await dispatch(lab, root)
            await ttft(lab, root)
        finally:
            lab.close()
    print(f"load_1min_after: {load_average()}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
