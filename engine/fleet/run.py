"""One LoadGen test over a set of reachable endpoints: read the prompts, build the settings,
wire the dispatcher and the SUT, run LoadGen, and say what happened.

This knows nothing of nodes, services or plans (`engine.fleet.stage` does): it takes URLs
and a directory, so the tests and the bench drive it directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.fleet import api
from engine.fleet.client import EndpointClient
from engine.fleet.dataset import DEFAULT_PROMPT_FIELD, load_prompts
from engine.fleet.dispatch import Dispatcher, Endpoint
from engine.fleet.settings import FleetTest, build_fleet_settings
from engine.fleet.stats import distribution
from engine.fleet.sut import FleetSut, run_loadgen

PROGRESS_EVERY_S = 0.5
USER_CONF = "user.conf"


@dataclass(frozen=True)
class EndpointTarget:
    node: str
    url: str
    max_in_flight: int = 64


@dataclass(frozen=True)
class FleetRequest:
    """What one fleet test asks for."""

    scenario: str
    mode: str
    samples: int
    loadgen_model: str  # LoadGen's model name (mlperf.conf / user.conf keys)
    dataset: str  # a controller-side path, or "synthetic"
    sampling: api.Sampling = field(default_factory=api.Sampling)
    served_model: str | None = None  # the `model` field of each request
    target_qps: float | None = None
    prompt_field: str = DEFAULT_PROMPT_FIELD
    user_conf: str = ""
    max_retries: int = 2
    request_timeout_s: float = 600.0
    connect_timeout_s: float = 10.0
    max_concurrency: int | None = None


@dataclass(frozen=True)
class QueryCounts:
    """The queries LoadGen issued and what came of them so far: each progress tick and the
    outcome carry them (`counts` reads them off the SUT and the dispatcher)."""

    issued: int
    completed: int
    failed: int
    retries: int
    output_tokens: int


def counts(sut: FleetSut, d: Dispatcher) -> dict[str, int]:
    """QueryCounts' fields, now."""
    return {"issued": sut.issued, "completed": d.completed, "failed": d.failed,
            "retries": d.retries, "output_tokens": d.output_tokens}  # fmt: skip


@dataclass(frozen=True)
class FleetProgress(QueryCounts):
    in_flight: int
    per_endpoint: Mapping[str, tuple[int, int, bool]]  # node -> (queries, in flight, up)


@dataclass(frozen=True)
class FleetOutcome(QueryCounts):
    """What the test did. `failed_reason` is None when every query was answered."""

    sut_name: str
    endpoints: list[dict[str, Any]]
    failed_reason: str | None
    failures: list[str]
    overridden: tuple[str, ...]
    start_unix: float
    end_unix: float
    prompt_tokens: int
    client: dict[str, Any] = field(default_factory=dict)  # fleet-wide TTFT/TPOT from send

    @property
    def duration_s(self) -> float:
        return self.end_unix - self.start_unix


async def run_fleet(
    request: FleetRequest,
    targets: Sequence[EndpointTarget],
    log_dir: Path,
    *,
    on_progress: Callable[[FleetProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> FleetOutcome:
    """Run LoadGen over `targets`; LoadGen's files land in `log_dir`. Raises DatasetError or
    FleetSettingsError before LoadGen starts; never hangs once it has."""
    log_dir.mkdir(parents=True, exist_ok=True)
    prompts = await asyncio.to_thread(
        load_prompts, request.dataset, request.samples, request.prompt_field
    )
    conf_path = log_dir / USER_CONF
    conf_path.write_text(request.user_conf)
    resolved = build_fleet_settings(
        FleetTest(
            request.scenario,
            request.mode,
            request.samples,
            request.loadgen_model,
            request.target_qps,
        ),
        str(conf_path),
    )
    endpoints = [
        Endpoint(
            t.node,
            EndpointClient(t.url, connect_timeout_s=request.connect_timeout_s),
            t.max_in_flight,
        )
        for t in targets
    ]
    dispatcher = Dispatcher(
        endpoints,
        max_retries=request.max_retries,
        request_timeout_s=request.request_timeout_s,
        max_concurrency=request.max_concurrency,
    )
    template = api.BodyTemplate(request.served_model, request.sampling)
    sut = FleetSut(
        asyncio.get_running_loop(), dispatcher, prompts, template, request.sampling.max_tokens
    )
    ticker = asyncio.create_task(_tick(sut, dispatcher, on_progress, cancelled))
    start = time.time()
    try:
        await run_loadgen(sut, resolved.settings, log_dir)
    finally:
        end = time.time()
        ticker.cancel()
        await dispatcher.close()
    if on_progress is not None:
        on_progress(_progress(sut, dispatcher))
    reason = dispatcher.failed_reason
    if reason is None and dispatcher.failed:
        reason = f"{dispatcher.failed} of {sut.issued} queries failed after retries"
    return FleetOutcome(
        **counts(sut, dispatcher),
        sut_name=sut.sut_name,
        endpoints=dispatcher.endpoint_stats(),
        failed_reason=reason,
        failures=list(sut.failures),
        overridden=resolved.overridden,
        start_unix=start,
        end_unix=end,
        prompt_tokens=sum(prompts.token_counts),
        client={
            "ttft_s": distribution([x for e in endpoints for x in e.stats.ttft_s]),
            "tpot_s": distribution([x for e in endpoints for x in e.stats.tpot_s]),
            "queue_s": distribution([x for e in endpoints for x in e.stats.queue_s]),
        },
    )


def _progress(sut: FleetSut, d: Dispatcher) -> FleetProgress:
    return FleetProgress(
        **counts(sut, d),
        in_flight=d.in_flight,
        per_endpoint={e.node: (e.stats.queries, e.in_flight, e.up) for e in d.endpoints},
    )


async def _tick(
    sut: FleetSut,
    d: Dispatcher,
    on_progress: Callable[[FleetProgress], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        if cancelled is not None and cancelled():
            d.abandon("cancelled")  # LoadGen hears every query answered and ends
        if on_progress is not None:
            on_progress(_progress(sut, d))
