"""`mlconsole`: argument parsing and the one place that turns errors into output and exit codes.

Exit codes: 0 success, 1 some runs failed, 2 bad input (config, arguments), 130 interrupted.
Imports are lazy so `mlconsole --help` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """\
A terminal control console for MLPerf Inference LoadGen runs on a fleet of GPU nodes.

  mlconsole [CONFIG]            open the console (TUI) on CONFIG
                                (default: ./mlconsole.toml, else the bundled demo)
  mlconsole --batch CONFIG      run the plan headless: a line per state change, reports at the end
  mlconsole check CONFIG        preflight every node concurrently (SSH, Python, LoadGen, GPUs, disk)
  mlconsole inspect PATH        print what was parsed from a run dir or a LoadGen log
  mlconsole attach [CONFIG|RESULTS_DIR]
                                follow runs a closed console left running on their nodes,
                                finish its group and run the stages of its plan that remain
  mlconsole report RESULTS_DIR  rebuild charts and reports from recorded results alone
  mlconsole history [RESULTS...]
                                every recorded run across days, regressions flagged
  mlconsole compare RUN_A RUN_B two runs side by side (--stage NAME: a stage's nodes)
  mlconsole export-submission RESULTS_DIR OUT_DIR
                                write the runs as a round's submission tree (refuses
                                development runs, naming the rules they break)
  mlconsole init [PATH]         write a commented starter config

The bundled demo (configs/demo.toml) runs the real LoadGen on this machine with SIMULATED
node speeds: no GPU and no SSH needed.
Exit codes: 0 success, 1 some runs failed, 2 bad input, 130 interrupted.
"""

SUBCOMMANDS = (
    "check", "inspect", "report", "init", "attach", "export-submission", "history", "compare"
)  # fmt: skip


def _main_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlconsole",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", help="config file (TOML)")
    p.add_argument("--batch", metavar="CONFIG", help="run CONFIG's plan headless")
    p.add_argument(
        "--stage",
        action="append",
        metavar="NAME",
        help="with --batch: run only this stage (repeatable)",
    )
    p.add_argument("--theme", help="console theme: dark or light")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _sub_parser(cmd: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"mlconsole {cmd}")
    if cmd == "check":
        p.description = (
            "Preflight every node of CONFIG at once: reachable and authenticated, "
            "OS, Python, LoadGen importable, GPUs, free disk, stray audit.config."
        )
        p.add_argument("config", help="config file (TOML)")
        p.add_argument("--json", action="store_true", help="print JSON for scripts")
    elif cmd == "inspect":
        p.description = "Print what mlconsole parsed from a run dir or a single LoadGen log."
        p.add_argument("path", help="run dir, mlperf_log_summary.txt or mlperf_log_detail.txt")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--round", help="the submission round to judge against (v5.1, v6.0)")
        p.add_argument(
            "--benchmark",
            help="the MLPerf benchmark or LoadGen model name (default: from the path)",
        )
    elif cmd == "report":
        p.description = "Rebuild every chart and markdown report from recorded results alone."
        p.add_argument("results_dir", help="results directory (holds <node>_<timestamp>/ dirs)")
        p.add_argument("--reports-dir", default="reports", help="where to write (default: reports)")
    elif cmd in ("history", "compare"):
        from console import history_cli

        add = history_cli.add_history_arguments if cmd == "history" else None
        (add or history_cli.add_compare_arguments)(p)
    elif cmd == "export-submission":
        p.description = (
            "Write recorded runs as an MLPerf Inference submission tree for a round: results, "
            "accuracy (truncated accuracy log), compliance, measurements, systems/<system>.json "
            "from the preflight facts. Refuses development runs, naming the rules they break; "
            "lists every field it cannot know instead of guessing it."
        )
        p.add_argument("results_dir", help="results directory (holds <node>_<timestamp>/ dirs)")
        p.add_argument("out_dir", help="where to write the submission tree")
        p.add_argument("--round", help="the round (v5.1, v6.0; default: the newest)")
        p.add_argument("--division", default="closed", help="closed, open or network")
        p.add_argument("--submitter", help="the submitter's name (the directory under division)")
        p.add_argument("--system", help="the system's name (default: the runs' node)")
        p.add_argument("--runs", nargs="+", metavar="RUN", help="run ids or run dir names")
        p.add_argument(
            "--inference-checkout",
            metavar="DIR",
            help="a mlcommons/inference checkout: run its submission checker on the export "
            "(default: $MLCONSOLE_INFERENCE_CHECKOUT)",
        )
    elif cmd == "attach":
        p.description = (
            "Re-attach to runs that were started but never collected (the console "
            "was closed, killed or lost its link): follow each to its end and collect it, "
            "finish the parallel group the plan was in (group_summary.json), run the plan's "
            "stages that remain (finished ones are skipped) and rebuild the reports."
        )
        p.add_argument(
            "target",
            nargs="?",
            default="mlconsole.toml",
            help="config file (TOML) naming the runs' nodes, or a results dir whose journal "
            "names its config (default: ./mlconsole.toml)",
        )
        p.add_argument(
            "--results-dir",
            metavar="DIR",
            help="the results dir whose journal.jsonl to read (default: the config's results_dir)",
        )
        p.add_argument(
            "--follow-only",
            action="store_true",
            help="follow the runs and finish the group, but do not run the remaining stages",
        )
    elif cmd == "init":
        p.description = (
            "Write a commented starter config, or with --preset a config for one of the "
            "harnesses people run (configs/benchmarks/: the MLCommons references, NVIDIA's "
            "make run_harness, MLCFlow's mlcr), with its real flags, progress source and quirks."
        )
        p.add_argument(
            "path",
            nargs="?",
            default="mlconsole.toml",
            help="where to write (default: ./mlconsole.toml)",
        )
        p.add_argument("--preset", metavar="NAME", help="e.g. llama3.1-8b-offline")
        p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
        p.add_argument("--force", action="store_true", help="overwrite an existing file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from engine.errors import MlconsoleError

    try:
        if args and args[0] in SUBCOMMANDS:
            ns = _sub_parser(args[0]).parse_args(args[1:])
            return _dispatch(args[0], ns)
        ns = _main_parser().parse_args(args)
        if ns.version:
            from engine import __version__

            print(f"mlconsole {__version__}")
            return EXIT_OK
        if ns.batch:
            if ns.config:
                raise _usage("give the config once: mlconsole --batch CONFIG")
            return _batch(ns.batch, ns.stage)
        if ns.config is not None:
            _check_console_argument(ns.config)
        from console.tui.app import run_console

        return run_console(ns.config, ns.theme)
    except MlconsoleError as exc:
        print(f"mlconsole: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlconsole: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug of ours: one line, and the traceback on request
        import os

        if os.environ.get("MLCONSOLE_DEBUG"):
            raise
        print(
            f"mlconsole: internal error: {type(exc).__name__}: {exc} "
            "(set MLCONSOLE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _check_console_argument(arg: str) -> None:
    """Refuse, before the full-screen console opens, an argument that names no config file:
    a mistyped sub-command (`mlconsole frobnicate`) or a missing file would otherwise open the
    console (which waits forever without a terminal)."""

    path = Path(arg)
    if path.is_file():
        return
    if path.exists():
        raise _usage(f"{arg}: is not a file (expected a config file, a .toml)")
    if "/" not in arg and "." not in arg:
        from difflib import get_close_matches

        close = get_close_matches(arg, SUBCOMMANDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise _usage(
            f"unknown command {arg!r}{hint} (commands: {', '.join(SUBCOMMANDS)}; "
            "or give a config file)"
        )
    raise _usage(f"{arg}: no such config file")


def _usage(message: str) -> Exception:
    from engine.errors import UsageError

    return UsageError(message)


def _dispatch(cmd: str, ns: argparse.Namespace) -> int:
    if cmd == "check":
        return _check(ns.config, ns.json)
    if cmd in ("inspect", "report", "export-submission"):
        from console import results_cli

        if cmd == "inspect":
            return results_cli.run_inspect(ns.path, ns.json, ns.round, ns.benchmark)
        if cmd == "report":
            return results_cli.run_report(ns.results_dir, ns.reports_dir)
        return results_cli.run_export_submission(ns)
    if cmd == "attach":
        from console.attach import attach_target

        config, results_dir = attach_target(ns.target, ns.results_dir)
        return _batch(config, None, attach=True, results_dir=results_dir, resume=not ns.follow_only)
    if cmd in ("history", "compare"):
        from console import history_cli

        return history_cli.run_history(ns) if cmd == "history" else history_cli.run_compare(ns)
    if cmd == "init":
        from engine.config.presets import preset_config_text, presets_listing
        from engine.config.starter import write_starter_config

        if ns.list_presets:
            print(presets_listing())
            return EXIT_OK
        text = preset_config_text(ns.preset) if ns.preset else None
        path = write_starter_config(ns.path, force=ns.force, text=text)
        if ns.preset:
            print(
                f"wrote {path} (preset {ns.preset}); set its node's vars (paths to the "
                f"harness, model and dataset), then: mlconsole check {path}"
            )
        else:
            print(f"wrote {path}; edit its nodes and plan, then: mlconsole --batch {path}")
        return EXIT_OK
    raise _usage(f"unknown command {cmd}")


def _check(config_path: str, as_json: bool) -> int:
    import asyncio
    import json

    from engine.config.advice import check_controller_files
    from engine.config.load import load_config
    from engine.run.preflight import facts_table, facts_to_json

    config = load_config(config_path)
    check_controller_files(config)
    if not config.nodes:
        raise _usage(f"{config_path}: defines no nodes, nothing to check (add [nodes.<name>])")

    async def go() -> tuple[list, list]:
        from engine.run.orchestrator import Orchestrator

        # One connection per node for the probe and the settings probes after it.
        orch = Orchestrator(config)
        try:
            facts = await orch.preflight()
            ready = [f.node for f in facts if f.reachable and f.loadgen_version is not None]
            settings = await orch.resolve_plan_settings(ready)
        finally:
            await orch.close()
        return facts, settings

    facts, settings = asyncio.run(go())
    if as_json:
        import dataclasses

        data = facts_to_json(facts)
        for node in data:
            node["loadgen_settings"] = [
                dataclasses.asdict(ev) for ev in settings if ev.node == node["node"]
            ]
        print(json.dumps(data, indent=2, default=str))
    else:
        print(facts_table(facts))
        unprobed = sorted(
            {r.node for r in config.plan.all_runs()}
            - {f.node for f in facts if f.reachable and f.loadgen_version}
        )
        for node in unprobed:
            print(f"{node}: LoadGen's settings not probed (node unreachable or LoadGen missing)")
        if settings:
            from console.batch import settings_lines

            print("\nWhat LoadGen will run (asked of each node's own LoadGen, before launch):")
            for ev in settings:
                for n, line in enumerate(settings_lines(ev)):
                    print(f"{ev.run_id if n == 0 else '':<22} {line}")
    return EXIT_OK if all(f.reachable for f in facts) else EXIT_FAILED


def _batch(
    config_path: str,
    stages: list[str] | None,
    *,
    attach: bool = False,
    results_dir: str | None = None,
    resume: bool = True,
) -> int:
    import asyncio
    import signal

    from console.batch import BatchPrinter
    from engine.config.advice import check_controller_files, config_warnings
    from engine.config.load import load_config
    from engine.run.orchestrator import Orchestrator, plan_outcome

    config = load_config(config_path)
    check_controller_files(config)
    if not attach and not config.plan.stages:
        raise _usage(
            f"{config_path}: the plan is empty, nothing to run (add [[plan]] stages; "
            f"`mlconsole check {config_path}` checks nodes without a plan)"
        )
    if results_dir is not None:
        import dataclasses

        settings = dataclasses.replace(config.settings, results_dir=results_dir)
        config = dataclasses.replace(config, settings=settings)
    unknown = [s for s in stages or () if s not in {st.name for st in config.plan.stages}]
    if unknown:
        raise _usage(f"no stage named {', '.join(unknown)} in {config_path}")
    printer = BatchPrinter()
    for w in config_warnings(config):
        print(f"mlconsole: warning: {w}", file=sys.stderr)

    async def go() -> tuple[int, object]:
        orch = Orchestrator(config)
        orch.bus.add_listener(printer)
        interrupted = over = False

        def on_signal() -> None:
            nonlocal interrupted
            if over:  # the outcome is out: nothing to cancel, and the reports are not lost
                print("mlconsole: interrupted: the plan is over; writing its reports, then "
                      "exiting", file=sys.stderr)  # fmt: skip
                return
            if interrupted:
                return
            interrupted = True
            print(
                "mlconsole: interrupted: cancelling live runs (partial results are kept)",
                file=sys.stderr,
            )
            orch.cancel_all()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            if attach:
                summaries = await orch.reattach(resume=resume)
                if not summaries:
                    from console.attach import nothing_to_attach

                    print(f"mlconsole: {nothing_to_attach(config)}", file=sys.stderr)
                outcome = plan_outcome(summaries, 0.0)
            else:
                outcome = await orch.run_plan(stages)
            over = True
        finally:
            await orch.close()  # writes every report still pending before it returns
        if interrupted:
            return EXIT_INTERRUPTED, outcome
        if orch.reports.failures:
            print("mlconsole: reports not written: " + "; ".join(orch.reports.failures),
                  file=sys.stderr)  # fmt: skip
            return EXIT_FAILED, outcome
        return (EXIT_OK if outcome.ok else EXIT_FAILED), outcome

    code, outcome = asyncio.run(go())
    failures = getattr(outcome, "failures", ())
    if failures:
        print("mlconsole: some runs failed:", file=sys.stderr)
        for run_id, why in failures:
            print(f"  {run_id}: {why}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
