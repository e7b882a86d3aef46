"""How a fleet stage appears as runs: one RunSpec per LoadGen test, on the pseudo-node
"fleet". Light on purpose (only engine.model): the console builds its table from it."""

from __future__ import annotations

from engine.model import FleetSpec, RunSpec
from engine.results.summary import FLEET_LABEL as ONE_RESULT

FLEET_NODE = "fleet"


def fleet_runs(spec: FleetSpec) -> list[RunSpec]:
    """The RunSpecs a fleet stage shows: one, or one per concurrency limit of a sweep."""
    out = []
    nodes = ", ".join(spec.nodes)
    for limit in spec.concurrency:
        suffix = f"-c{limit}" if spec.sweep else ""
        where = f", concurrency {limit}" if limit is not None else ""
        out.append(
            RunSpec(
                run_id=f"{spec.fleet_id}{suffix}",
                node=FLEET_NODE,
                benchmark=spec.benchmark,
                scenario=spec.scenario,
                mode=spec.mode,
                samples=spec.samples,
                stage=spec.name,
                label=f"{ONE_RESULT} over {nodes}{where}",
            )
        )
    return out
