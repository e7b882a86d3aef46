"""The checker's view of a run dir or detail log for `mlconsole inspect`: the round, the
benchmark (named by the caller, read from a submission-layout path, or from mlconsole's own
run summary), the checker's headline and the eligibility, beside LoadGen's verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.loadgen.inspect import sniff_kind
from engine.loadgen.parse import RunLogs, parse_detail, read_run_logs
from engine.submission.eligibility import Eligibility, assess_logs
from engine.submission.headline import CheckerHeadline, checker_headline
from engine.submission.rules import SCENARIOS, resolve_benchmark

_RUN_SUMMARY = "orchestrator_summary.json"


def benchmark_from_path(path: Path) -> str | None:
    """The benchmark of a submission-layout path: `<benchmark>/<Scenario>/performance/run_1`,
    `<benchmark>/<Scenario>/accuracy`, `<benchmark>/<Scenario>/TEST06/...`; mlconsole's run
    dirs name it in their run summary's assessment."""
    parts = path.resolve().parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] in SCENARIOS and resolve_benchmark(parts[i - 1])[0]:
            return parts[i - 1]
    summary = (path if path.is_dir() else path.parent) / _RUN_SUMMARY
    try:
        data = json.loads(summary.read_text())
        e = data["submission"]["eligibility"]
        name = e.get("benchmark") or e.get("model")
        return name if isinstance(name, str) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checker_view(
    path: Path, round_name: str | None = None, model: str | None = None
) -> dict[str, Any] | None:
    """The `checker` block of `inspect --json`; None for a file with no detail log to judge."""
    path = Path(path)
    if path.is_dir():
        logs = read_run_logs(path)
    elif path.is_file():
        if sniff_kind(path) != "detail":
            return None  # a summary, accuracy log or trace alone: the checker reads the detail log
        try:
            logs = RunLogs(str(path.parent), detail=parse_detail(path))
        except (OSError, ValueError):
            return None
    else:
        return None
    if logs.detail is None:
        return None
    model = model or benchmark_from_path(path)
    # Interactive is a Server run under another config key: the path's scenario dir says it.
    scenario = "Interactive" if "Interactive" in path.resolve().parts else None
    e = assess_logs(logs, round_name, model, scenario)
    h = checker_headline(logs.detail.values, scenario or logs.scenario, model, round_name)
    return {
        "round": e.round,
        "benchmark": e.benchmark,
        "model": model,
        "loadgen_validity": logs.validity,
        "headline": h.to_json(),
        "eligibility": e.to_json(),
    }


def format_checker_view(view: dict[str, Any] | None) -> list[str]:
    """Lines for the human `inspect` output."""
    if not view:
        return []
    h, e = view["headline"], view["eligibility"]
    shown = (
        f"{h['value']:.6g} {h['unit']} ({h['key']})"
        if h["value"] is not None
        else f"missing ({h['missing']})"
    )
    lines = [
        f"checker ({view['round']}, {view['benchmark'] or 'no MLPerf benchmark'}): "
        f"headline {shown}; LoadGen says {view['loadgen_validity'] or 'nothing'}",
    ]
    if e["eligible"]:
        lines.append(f"  submittable to {view['round']}: every rule met")
    else:
        lines.append(f"  development run: {len(e['broken'])} rule(s) of {view['round']} broken")
        lines.extend(f"  - {b['text']} [{b['rule']}]" for b in e["broken"])
    return lines


def submission_lines(e: Eligibility | None, h: CheckerHeadline | None) -> list[str]:
    """A recorded run's checker view as plain lines (the run report and the console's run
    details): the headline, then submittable or development run with each broken rule."""
    if e is None and h is None:
        return ["not assessed (the summary predates the submission check)"]
    lines = []
    if h is not None:
        lines.append(f"checker headline ({h.round}): {h.text()}")
    if e is not None:
        if e.eligible:
            lines.append(f"submittable to {e.round}: every rule met")
        else:
            lines.append(f"development run: {len(e.broken)} rule(s) of {e.round} broken")
            lines += [f"- {b.text} [{b.rule}]" for b in e.broken]
        lines += [f"- margin: {m.text()}" for m in e.margins]
    return lines
