"""Runs a Server QPS search stage: short runs bisect between `low_qps` and `high_qps`
(`engine.checks.qps_search.Bisection`), then a full-length run confirms the highest VALID QPS
(lowered by `backoff`; if it fails, once more `tolerance` lower). Every step is a normal run
(its own run dir and summary, `target_qps` in its user.conf), and `qps_search.json` in the
search's dir is rewritten after each one, so an interrupted search keeps what it learned;
the chart is drawn at the end.

VALID is LoadGen's own verdict (latency bound, early stopping, minimum queries) for the
runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from engine.checks.qps_search import (
    CHART_FILE,
    SEARCH_FILE,
    Bisection,
    QpsSearchResult,
    QpsStep,
)
from engine.events import EventBus, Notice, QpsSearchFinished, QpsSearchStepped, RunQueued
from engine.model import Mode, QpsSearchSpec, RunSpec
from engine.results.schema import RunSummary
from engine.results.store import ResultsStore, write_json

MAX_CONFIRMATIONS = 2


def _step(index: int, kind: str, qps: float, spec: RunSpec, s: RunSummary) -> QpsStep:
    m = s.loadgen.metric
    return QpsStep(index, kind, qps, spec.run_id, s.run_dir, str(s.state) if s.state else None,
                   s.loadgen.validity, tuple(s.loadgen.validity_reasons),
                   m.value if m else None, m.unit if m else None)  # fmt: skip


async def run_qps_search(
    search: QpsSearchSpec,
    *,
    store: ResultsStore,
    bus: EventBus,
    execute: Callable[[RunSpec], Awaitable[RunSummary]],
) -> list[RunSummary]:
    search_dir = store.new_search_dir(search.name)
    result = QpsSearchResult(search.name, search.node, search.benchmark, search.low_qps,
                             search.high_qps, search.tolerance, search.backoff)  # fmt: skip
    summaries: list[RunSummary] = []

    def spec_for(index: int, kind: str, qps: float) -> RunSpec:
        short = kind == "short"
        return RunSpec(
            run_id=f"{search.search_id}-{kind[0]}{index}", node=search.node,
            benchmark=search.benchmark, scenario=search.scenario, mode=Mode.PERFORMANCE,
            samples=search.samples if short else search.confirm_samples, stage=search.name,
            label=f"qps search {kind} {index}: {qps:g} QPS", target_qps=qps,
            user_conf_extra=search.short_user_conf if short else "",
        )  # fmt: skip

    async def step(index: int, kind: str, qps: float) -> QpsStep:
        nonlocal result
        spec = spec_for(index, kind, qps)
        bus.publish(RunQueued(spec))
        summary = await execute(spec)
        summaries.append(summary)
        done = _step(index, kind, qps, spec, summary)
        result = dataclasses.replace(result, steps=(*result.steps, done))
        write_json(search_dir / SEARCH_FILE, result.to_json())
        bus.publish(QpsSearchStepped(search.search_id, str(search_dir), result))
        return done

    bisection = Bisection(search.low_qps, search.high_qps, search.tolerance)
    index, detail, stopped = 0, "", False
    while index < search.max_steps and (qps := bisection.next_qps()) is not None:
        index += 1
        done = await step(index, "short", qps)
        if done.validity is None:  # no verdict: a failed or cancelled run decides nothing
            detail, stopped = f"short run {index} ended {done.state} without a verdict", True
            break
        bisection.record(qps, done.valid)
    best = bisection.best
    if not stopped and best is None:
        detail = f"even low_qps {search.low_qps:g} is INVALID in a short run: lower it"
    if not stopped and best is not None:
        qps = round(best * (1 - search.backoff), 6)
        for _ in range(MAX_CONFIRMATIONS):
            index += 1
            done = await step(index, "confirm", qps)
            if done.valid or done.validity is None:
                break
            qps = round(qps * (1 - search.tolerance), 6)
        if result.found_qps is None:
            detail = "the full-length confirmation runs were not VALID"
    result = dataclasses.replace(result, done=True, detail=detail)
    write_json(search_dir / SEARCH_FILE, result.to_json())
    try:
        from engine.analysis.qps_chart import qps_search_chart

        await asyncio.to_thread(qps_search_chart, result, search_dir / CHART_FILE)
    except Exception as exc:  # noqa: BLE001 - the search's record stands without its chart
        bus.publish(Notice(f"qps search {search.name}: no chart ({type(exc).__name__}: {exc})",
                           "warning"))  # fmt: skip
    bus.publish(QpsSearchFinished(search.search_id, str(search_dir), result))
    return summaries


