"""A `kind = "qps_search"` stage: the Server QPS search's keys, checked when the config
loads (engine/checks/qps_search.py holds the arithmetic, engine/run/qps_search.py runs it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.config.reader import REQUIRED
from engine.model import Mode, QpsSearchSpec, Scenario

if TYPE_CHECKING:
    from engine.config.plan import StageHead


def qps_search(head: StageHead) -> QpsSearchSpec:
    from engine.config.plan import _samples

    sec, bench, stage_nodes, scenario = head.sec, head.bench, head.nodes, head.scenario
    if len(stage_nodes) != 1:
        raise sec.error("nodes" if sec.has("nodes") else "node",
                        f"a QPS search runs on one node, got {len(stage_nodes)}",
                        'node = "<name>"')  # fmt: skip
    if scenario != Scenario.SERVER:
        raise sec.error("scenario", f'a QPS search finds a Server target_qps, got "{scenario}"',
                        'scenario = "Server" (here or in the benchmark)')  # fmt: skip
    if head.mode != Mode.PERFORMANCE:
        raise sec.error("mode", f'got "{head.mode}"', '"performance"')
    samples = _samples(sec, ("samples",), sec.data.get("samples", REQUIRED), bench)
    confirm = samples
    if sec.has("confirm_samples"):
        confirm = _samples(sec, ("confirm_samples",), sec.data["confirm_samples"], bench)
    low = sec.number("low_qps", REQUIRED, low=0.0)
    high = sec.number("high_qps", REQUIRED, low=0.0)
    if not 0 < low < high:
        raise sec.error("high_qps", f"low_qps {low:g} and high_qps {high:g} are no bracket",
                        "0 < low_qps < high_qps")  # fmt: skip
    tolerance = sec.number("tolerance", 0.05, low=0.001)
    backoff = sec.number("backoff", 0.0, low=0.0)
    if backoff >= 0.5:
        raise sec.error("backoff", f"got {backoff:g}", "a fraction below 0.5 (MLCommons: 0.03)")
    extra = sec.string("short_user_conf", "", allow_empty=True,
                       expected="user.conf lines for the short runs")  # fmt: skip
    return QpsSearchSpec(
        search_id=head.spec_id, name=head.name, node=stage_nodes[0], benchmark=bench.name,
        scenario=scenario, samples=samples, confirm_samples=confirm, low_qps=float(low),
        high_qps=float(high), tolerance=float(tolerance), backoff=float(backoff),
        max_steps=sec.integer("max_steps", 10, low=2, high=50), short_user_conf=extra,
    )  # fmt: skip
