"""`mlconsole report`, `inspect` and `export-submission`: the commands that read recorded
results (a results dir, a LoadGen log dir) and print what they found or wrote. Every figure
comes from the engine (`engine.analysis.report`, `engine.loadgen.inspect`,
`engine.submission`); a path that is not what the command reads is one clear error and exit 2
(`UsageError`, turned into the message by `console.cli`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.cli import EXIT_FAILED, EXIT_OK
from engine.errors import UsageError


def run_inspect(path: str, as_json: bool, round_name: str | None, model: str | None) -> int:
    import json

    from engine.loadgen.inspect import format_inspection, inspect_path
    from engine.submission.rules import get_round
    from engine.submission.view import checker_view, format_checker_view

    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file or directory")
    try:
        get_round(round_name)
    except KeyError as exc:
        raise UsageError(f"--round: {exc.args[0]}") from None
    data = inspect_path(p)
    data["checker"] = checker_view(p, round_name, model)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join([format_inspection(data), *format_checker_view(data["checker"])]))
    return EXIT_OK


def run_export_submission(ns: argparse.Namespace) -> int:
    import os

    from engine.submission.export import export_submission
    from engine.submission.rules import get_round

    root = Path(ns.results_dir)
    if not root.is_dir():
        raise UsageError(f"{ns.results_dir}: not a directory")
    try:
        get_round(ns.round)
    except KeyError as exc:
        raise UsageError(f"--round: {exc.args[0]}") from None
    checkout = ns.inference_checkout or os.environ.get("MLCONSOLE_INFERENCE_CHECKOUT")
    if checkout and not Path(checkout).is_dir():
        raise UsageError(f"--inference-checkout {checkout}: not a directory")
    ex = export_submission(
        root,
        Path(ns.out_dir),
        round_name=ns.round,
        division=ns.division,
        submitter=ns.submitter,
        system=ns.system,
        runs=ns.runs,
        inference_checkout=Path(checkout) if checkout else None,
    )
    print(f"wrote {len(ex.files)} files under {ex.root}")
    for file, fields in ex.unknown.items():
        print(f"not known, fill in: {file}: {', '.join(fields)}")
    for m in ex.missing:
        print(f"missing: {m}")
    print(f"notes: {Path(ns.out_dir) / 'export_notes.md'}")
    if ex.checker is not None:
        verdict = "passed" if ex.checker.returncode == 0 else "FAILED"
        print(f"submission checker {verdict} (exit {ex.checker.returncode}; {ex.checker.log}):")
        print(ex.checker.tail)
        return EXIT_OK if ex.checker.returncode == 0 else EXIT_FAILED
    return EXIT_OK


def warn_unreadable(root: Path) -> None:
    """A summary that cannot be read is left out of what is shown: say which, and why."""
    from engine.results.store import ResultsStore

    for problem in ResultsStore(root).unreadable():
        say_skipped(problem)


def say_skipped(problem: str) -> None:
    print(f"mlconsole: skipped: {problem}", file=sys.stderr)


def run_report(results_dir: str, reports_dir: str) -> int:
    from engine.analysis.chart_process import ChartProcess

    root = Path(results_dir)
    if not root.is_dir():
        raise UsageError(f"{results_dir}: not a directory")
    # Forked before polars is imported (its thread pool would make a fork unsafe), so the
    # child imports matplotlib and draws while this process reads and writes the reports.
    chart_process = ChartProcess.start()
    try:
        from engine.analysis.report.rebuild import rebuild_reports

        paths = rebuild_reports(
            root, Path(reports_dir), skipped=say_skipped, chart_process=chart_process
        )
    finally:
        if chart_process is not None:
            chart_process.close()
    for p in paths:
        print(p)
    return EXIT_OK
