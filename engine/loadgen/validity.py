"""Why LoadGen marked a run INVALID, in sentences a user can act on.

Built from the failed sub-conditions (summary lines or detail `result_*_met` keys), the
early-stopping text and LoadGen's own recommendations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.loadgen.detail import DetailLog
    from engine.loadgen.summary import Summary


def _ms(ns: Any) -> str:
    return f"{ns / 1e6:g} ms" if isinstance(ns, int | float) else "?"


def invalid_reasons(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    """The sentences for a run known to be INVALID (never empty)."""
    conditions = dict(detail.conditions) if detail else {}
    if summary:
        conditions.update(summary.conditions)
    params = summary.test_parameters if summary else {}
    dv = detail.values if detail else {}
    out: list[str] = []
    if conditions.get("performance_constraints") is False:
        if "ttft_latency (ns)" in params or "requested_server_ttft_latency" in dv:
            ttft = params.get("ttft_latency (ns)", dv.get("requested_server_ttft_latency"))
            tpot = params.get("tpot_latency (ns)", dv.get("requested_server_tpot_latency"))
            out.append(
                "Latency constraint not met: the 99th percentile time to first token "
                f"(bound {_ms(ttft)}) or time per output token (bound {_ms(tpot)}) is "
                "too high."
            )
        else:
            bound = params.get("target_latency (ns)", dv.get("effective_target_latency_ns"))
            out.append(
                "Latency constraint not met: the target percentile latency is above "
                f"target_latency ({_ms(bound)})."
            )
    if conditions.get("min_duration") is False:
        ms = params.get("min_duration (ms)", dv.get("effective_min_duration_ms"))
        out.append(f"Minimum duration not met: the run was shorter than min_duration ({ms} ms).")
    if conditions.get("min_queries") is False:
        n = params.get("min_query_count", dv.get("effective_min_query_count"))
        out.append(f"Minimum query count not met: fewer than min_query_count ({n}) queries.")
    if conditions.get("early_stopping") is False:
        blocks = (
            summary.early_stopping.values()
            if summary and summary.early_stopping
            else [
                [b.strip() for b in str(dv.get(k, "")).split(" * ") if b.strip()]
                for k in (
                    "early_stopping_result",
                    "early_stopping_ttft_result",
                    "early_stopping_tpot_result",
                )
            ]
        )
        said = " ".join(" ".join(b.split()) for bullets in blocks for b in bullets)
        out.append("Early stopping not satisfied" + (f": {said}" if said else "."))
    reason = dv.get("result_invalid_reason")
    if isinstance(reason, str) and reason.strip():
        out.append(f"LoadGen says: {reason.strip()}")
    for rec in summary.recommendations if summary else ():
        out.append(f"LoadGen recommends: {rec}")
    if not out:
        out.append("LoadGen marked the run INVALID without saying why.")
    return tuple(out)


def validity_reasons(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    """Human sentences for why a run is INVALID, from the failed sub-conditions, the early
    stopping text and LoadGen's recommendations. Empty unless the run is INVALID."""
    validity = (summary.validity if summary else None) or (detail.validity if detail else None)
    if validity != "INVALID":
        return ()
    return invalid_reasons(summary, detail)
