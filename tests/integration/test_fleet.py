"""Fleet runs end to end: the real LoadGen on the controller, real HTTP on loopback, bundled
simulated endpoints (a vLLM server needs a GPU; this one speaks vLLM's API and says it is
simulated)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from engine.fleet import api
from engine.fleet.run import EndpointTarget, FleetRequest, run_fleet
from engine.loadgen.parse import read_run_logs
from tests.support.endpoints import EndpointLab, sim_request
from tests.support.sshd import free_port

DEMO_SERVER_CONF = """
sim.Server.use_token_latencies = 1
sim.Server.ttft_latency = 2000
sim.Server.tpot_latency = 200
"""


def request(samples: int, **kw: object) -> FleetRequest:
    return sim_request(samples, "sim", 8, **{"request_timeout_s": 20.0, **kw})


def targets(*eps, in_flight: int = 32) -> list[EndpointTarget]:  # noqa: ANN002
    return [EndpointTarget(f"n{i}", e.url, in_flight) for i, e in enumerate(eps)]


def summary_text(d: Path) -> str:
    return (d / "mlperf_log_summary.txt").read_text()


async def test_offline_over_two_endpoints_is_one_valid_result_with_tokens(
    endpoint_lab: EndpointLab, tmp_path: Path
) -> None:
    # 8 tokens a query: about 17 ms a slot on the fast endpoint, 66 ms on the slow one, so
    # the share follows the simulated speeds even when a loaded machine adds CPU time to both
    # (at 4200 and 2000 tokens/s with the default 20 ms prefill, 35 against 52 ms, it did not).
    fast = endpoint_lab.start(tokens_per_s=4200, concurrency=8, prefill_ms=2)
    slow = endpoint_lab.start(tokens_per_s=1000, concurrency=8, prefill_ms=2)
    out = await run_fleet(request(240), targets(fast, slow), tmp_path / "run")
    logs = read_run_logs(tmp_path / "run")
    assert logs.complete and logs.validity == "VALID"
    assert logs.token_metric is not None and logs.token_metric.value > 0
    assert out.completed == 240 and out.failed == 0 and out.failed_reason is None
    assert out.output_tokens == 240 * 8
    by = {e["node"]: e for e in out.endpoints}
    assert by["n0"]["queries"] > by["n1"]["queries"] > 0  # the fast node took more
    assert sum(e["queries"] for e in out.endpoints) == 240
    assert by["n0"]["token_sources"] == {"token_ids": by["n0"]["queries"]}
    assert "Network SUT" in out.sut_name and "n0: sim-llm" in out.sut_name
    assert "n0: sim-llm" in summary_text(tmp_path / "run")


async def test_server_carries_ttft_and_tpot(endpoint_lab: EndpointLab, tmp_path: Path) -> None:
    a = endpoint_lab.start(tokens_per_s=3000, concurrency=8, prefill_ms=5)
    b = endpoint_lab.start(tokens_per_s=3000, concurrency=8, prefill_ms=5)
    out = await run_fleet(
        request(80, scenario="Server", target_qps=40.0, user_conf=DEMO_SERVER_CONF),
        targets(a, b),
        tmp_path / "run",
    )
    text = summary_text(tmp_path / "run")
    assert out.completed == 80
    assert "Completed tokens per second" in text
    assert "First Token latency" in text or "TTFT" in text
    assert "Time to Output Token" in text or "TPOT" in text
    logs = read_run_logs(tmp_path / "run")
    assert logs.complete and not logs.loadgen_errors


async def test_accuracy_mode_records_each_response_as_token_ids(
    endpoint_lab: EndpointLab, tmp_path: Path
) -> None:
    a = endpoint_lab.start()
    out = await run_fleet(request(30, mode="accuracy"), targets(a), tmp_path / "run")
    assert out.completed == 30
    entries = json.loads((tmp_path / "run" / "mlperf_log_accuracy.json").read_text())
    assert len(entries) == 30
    from array import array

    ids = array("i", bytes.fromhex(entries[0]["data"]))
    assert len(ids) == 8 and all(i >= 1000 for i in ids)


async def test_an_endpoint_killed_mid_run_loses_nothing(
    endpoint_lab: EndpointLab, tmp_path: Path
) -> None:
    keep = endpoint_lab.start(tokens_per_s=1500, concurrency=8)
    doomed = endpoint_lab.start(tokens_per_s=1500, concurrency=8)
    seen: list[int] = []

    def progress(p) -> None:  # noqa: ANN001
        seen.append(p.completed)
        if p.completed >= 40 and doomed.proc.poll() is None:
            threading.Thread(target=doomed.kill).start()

    out = await run_fleet(
        request(200, sampling=api.Sampling(max_tokens=16)),
        targets(keep, doomed),
        tmp_path / "run",
        on_progress=progress,
    )
    assert doomed.proc.poll() is not None, "the endpoint was not killed during the run"
    assert out.completed == 200 and out.failed == 0 and out.failed_reason is None
    assert out.retries > 0
    by = {e["node"]: e for e in out.endpoints}
    assert by["n1"]["state"] == "down" and by["n1"]["error_count"] >= 1
    assert by["n1"]["retried_away"] == out.retries
    logs = read_run_logs(tmp_path / "run")
    assert logs.complete and logs.validity == "VALID" and not logs.loadgen_errors


async def test_non_api_answers_and_cut_streams_go_to_another_endpoint(
    endpoint_lab: EndpointLab, tmp_path: Path
) -> None:
    good = endpoint_lab.start()
    bad = endpoint_lab.start()
    bad.control(fault="html", fault_count=2)
    out = await run_fleet(request(60), targets(bad, good), tmp_path / "html")
    assert out.completed == 60 and out.failed == 0
    errors = {e["node"]: e["errors"] for e in out.endpoints}
    assert errors["n0"].get("not_api") == 2
    bad.control(fault="cut", fault_count=2)
    out = await run_fleet(
        request(60, sampling=api.Sampling(max_tokens=8)), targets(bad, good), tmp_path / "cut"
    )
    assert out.completed == 60 and out.failed == 0
    assert {e["node"]: e["errors"] for e in out.endpoints}["n0"].get("stream_cut") == 2
    assert read_run_logs(tmp_path / "cut").validity == "VALID"


async def test_a_bad_url_beside_a_good_one_and_then_alone(
    endpoint_lab: EndpointLab, tmp_path: Path
) -> None:
    good = endpoint_lab.start()
    nowhere = EndpointTarget("gone", f"http://127.0.0.1:{free_port()}", 8)
    out = await run_fleet(
        request(40), [nowhere, EndpointTarget("ok", good.url, 16)], tmp_path / "mixed"
    )
    assert out.completed == 40 and out.failed == 0
    gone = next(e for e in out.endpoints if e["node"] == "gone")
    assert gone["state"] == "down" and "cannot connect" in gone["state_detail"]
    # Nothing left: the run ends at once, failed with the reason, LoadGen's files kept.
    out = await asyncio.wait_for(run_fleet(request(40), [nowhere], tmp_path / "none"), 60)
    assert out.completed == 0 and out.failed == 40
    assert out.failed_reason is not None and "no endpoint is left" in out.failed_reason
    assert (tmp_path / "none" / "mlperf_log_summary.txt").exists()


async def test_every_query_has_a_timeout(endpoint_lab: EndpointLab, tmp_path: Path) -> None:
    crawl = endpoint_lab.start(tokens_per_s=2, concurrency=1)  # 8 tokens take 4 s
    out = await asyncio.wait_for(
        run_fleet(request(3, request_timeout_s=0.5, max_retries=1), targets(crawl), tmp_path / "r"),
        60,
    )
    assert out.failed == 3 and out.completed == 0
    assert out.endpoints[0]["errors"].get("timeout", 0) >= 1
