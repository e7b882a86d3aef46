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
    return f"{ns / 1e6:.4g} ms" if isinstance(ns, int | float) else "?"


# Detail-log keys of the early-stopping texts and the label each is shown with.
_EARLY_STOPPING_KEYS = (
    ("early_stopping_result", ""),
    ("early_stopping_ttft_result", "TTFT"),
    ("early_stopping_tpot_result", "TPOT"),
)


def early_stopping_texts(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    """LoadGen's early-stopping text, one string per block, each labelled with what it
    judged ("TTFT: Run unsuccessful. Processed 144 queries. ...", "TPOT: Run successful.").
    The summary's blocks are used when present, else the detail log's keys."""
    out: list[str] = []
    if summary and summary.early_stopping:
        for title, bullets in summary.early_stopping.items():
            label = title[:4] if title[:4] in ("TTFT", "TPOT") else ""
            out.append(_labelled(label, [" ".join(b.split()) for b in bullets]))
        return tuple(t for t in out if t)
    dv = detail.values if detail else {}
    for key, label in _EARLY_STOPPING_KEYS:
        text = dv.get(key)
        if isinstance(text, str) and text.strip():
            bullets = [" ".join(b.split()) for b in text.split(" * ") if b.strip()]
            out.append(_labelled(label, bullets))
    return tuple(t for t in out if t)


def _labelled(label: str, bullets: list[str]) -> str:
    text = " ".join(b for b in bullets if b)
    if not text:
        return ""
    return f"{label}: {text}" if label else text


def _pct(value: float, bound: float) -> str:
    return f" ({(value / bound - 1) * 100:.0f}% over)" if bound > 0 else ""


def _latency_reasons(params: dict[str, Any], dv: dict[str, Any]) -> list[str]:
    """Which latency bound a Server run missed, by how much, from the detail log's results."""
    out: list[str] = []
    token = "ttft_latency (ns)" in params or "requested_server_ttft_latency" in dv
    if token:
        checks = (
            (
                "TTFT p99",
                dv.get("result_first_token_99.00_percentile_latency_ns"),
                params.get("ttft_latency (ns)", dv.get("requested_server_ttft_latency")),
                "ttft_latency",
            ),
            (
                "TPOT p99",
                dv.get("result_time_per_output_token_99.00_percentile_ns"),
                params.get("tpot_latency (ns)", dv.get("requested_server_tpot_latency")),
                "tpot_latency",
            ),
        )
    else:
        pct = dv.get("effective_target_latency_percentile")
        label = f"p{pct * 100:g}" if isinstance(pct, int | float) else "target-percentile"
        key = (
            f"result_{pct * 100:.2f}_percentile_latency_ns" if isinstance(pct, int | float) else ""
        )
        checks = (
            (
                f"{label} latency",
                dv.get(key),
                params.get("target_latency (ns)", dv.get("effective_target_latency_ns")),
                "target_latency",
            ),
        )
    for label, value, bound, setting in checks:
        if isinstance(value, int | float) and isinstance(bound, int | float):
            if value > bound:
                out.append(
                    f"Latency constraint not met: {label} {_ms(value)} > {_ms(bound)} "
                    f"{setting}{_pct(value, bound)}."
                )
    if not out:
        bounds = ", ".join(
            f"{setting} {_ms(bound)}" for _, _, bound, setting in checks if bound is not None
        )
        out.append(
            "Latency constraint not met: a latency percentile is above its bound"
            + (f" ({bounds})." if bounds else ".")
        )
    return out


def invalid_reasons(summary: Summary | None, detail: DetailLog | None) -> tuple[str, ...]:
    """The sentences for a run known to be INVALID (never empty)."""
    conditions = dict(detail.conditions) if detail else {}
    if summary:
        conditions.update(summary.conditions)
    params = summary.test_parameters if summary else {}
    dv = detail.values if detail else {}
    out: list[str] = []
    if conditions.get("performance_constraints") is False:
        out.extend(_latency_reasons(params, dv))
    if conditions.get("min_duration") is False:
        ms = params.get("min_duration (ms)", dv.get("effective_min_duration_ms"))
        out.append(f"Minimum duration not met: the run was shorter than min_duration ({ms} ms).")
    if conditions.get("min_queries") is False:
        n = params.get("min_query_count", dv.get("effective_min_query_count"))
        out.append(f"Minimum query count not met: fewer than min_query_count ({n}) queries.")
    if conditions.get("early_stopping") is False:
        said = " ".join(early_stopping_texts(summary, detail))
        out.append("Early stopping not satisfied" + (f": {said}" if said else "."))
    reason = dv.get("result_invalid_reason")
    if isinstance(reason, str) and reason.strip():
        out.append(f"LoadGen says: {reason.strip()}")
    for rec in summary.recommendations if summary else ():
        if not (isinstance(reason, str) and rec.strip() == reason.strip()):
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
