"""`mlconsole export-submission`: recorded runs written as a round's submission tree.

Every selected run is judged against the round first (`eligibility`); one development run and
the export is refused, each run named with the rules it breaks. Then the round's layout is
written (rules.Round.layout: v5 keeps compliance/ and measurements/ beside results/, v6 puts
them inside the scenario dir): LoadGen's summary and detail logs, the accuracy log truncated
as the official `truncate_accuracy_log.py` does (first and last 4 KB, the hash of the whole
file in accuracy.txt; the run dir's original is left as it was), the compliance dirs a run
holds, user.conf and a README of the command that ran, and `systems/<system>.json` from the
preflight facts. What mlconsole cannot know is never filled in: it is listed, field by field,
in `export_notes.md` beside the division dir and in the returned `Export`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import MlconsoleError
from engine.results.schema import RunSummary
from engine.results.store import RecordedRun, ResultsStore
from engine.submission.eligibility import Eligibility, assess_run_dir
from engine.submission.rules import Round, get_round

# CONSTANTS SYSTEM_DESC_REQUIRED_FIELDS (the meaningful ones must be non-empty).
SYSTEM_FIELDS = (
    "division", "submitter", "status", "system_name", "number_of_nodes",
    "host_processor_model_name", "host_processors_per_node", "host_processor_core_count",
    "host_memory_capacity", "host_storage_capacity", "host_storage_type",
    "accelerators_per_node", "accelerator_model_name", "accelerator_memory_capacity",
    "framework", "operating_system", "system_type", "other_software_stack",
    "host_processor_frequency", "host_processor_caches", "host_memory_configuration",
    "host_processor_interconnect", "host_networking", "host_networking_topology",
    "accelerator_frequency", "accelerator_host_interconnect", "accelerator_interconnect",
    "accelerator_interconnect_topology", "accelerator_memory_configuration",
    "accelerator_on-chip_memories", "cooling", "hw_notes", "sw_notes",
    "host_network_card_count", "system_type_detail",
)  # fmt: skip
# CONSTANTS SYSTEM_IMP_REQUIRED_FILES: the fields of measurements.json.
MEASUREMENT_FIELDS = (
    "input_data_types", "retraining", "starting_weights_filename", "weight_data_types",
    "weight_transformations",
)  # fmt: skip
KEEP_BYTES = 4096  # truncate_accuracy_log.py keeps this much of the head and of the tail
_MARK = b"\n\n...\n\n"
_LOGS = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")
_TESTS = ("TEST01", "TEST04", "TEST06", "TEST07", "TEST08", "TEST09")


class ExportRefused(MlconsoleError):
    """The export would not be a valid submission; the message names every reason."""

    exit_code = 1


@dataclass
class Export:
    """What was written, and what the user still has to supply."""

    root: Path  # OUT/<division>/<submitter>
    files: list[Path] = field(default_factory=list)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # file -> fields not known
    missing: list[str] = field(default_factory=list)  # files the round wants that no run had
    checker: CheckerRun | None = None


@dataclass(frozen=True)
class CheckerRun:
    """The official submission checker's run over the export."""

    command: tuple[str, ...]
    returncode: int
    log: Path
    tail: str


@dataclass(frozen=True)
class _Picked:
    run: RecordedRun
    eligibility: Eligibility


def select_runs(results_dir: Path, runs: list[str] | None) -> list[RecordedRun]:
    """The recorded runs to export: all, or those named by run id or run dir name."""
    store = ResultsStore(results_dir)
    recorded = [r for r in store.runs() if r.summary.kind == "run"]
    if runs:
        wanted = set(runs)
        chosen = [r for r in recorded if {r.summary.run_id, r.run_dir.name} & wanted]
        found = {r.summary.run_id for r in chosen} | {r.run_dir.name for r in chosen}
        if unknown := sorted(wanted - found):
            raise ExportRefused(f"{results_dir}: no recorded run named {', '.join(unknown)}")
        recorded = chosen
    if not recorded:
        raise ExportRefused(f"{results_dir}: no recorded runs to export")
    return recorded


def _model(summary: RunSummary) -> str | None:
    e = summary.eligibility
    return (e.model or e.benchmark) if e else None


def judge(runs: list[RecordedRun], rnd: Round, division: str) -> list[_Picked]:
    """Each run against the round; ExportRefused naming every development run's rules, or
    two runs that would land in the same place."""
    picked = [
        _Picked(r, assess_run_dir(r.run_dir, rnd.name, _model(r.summary), division=division))
        for r in runs
    ]
    reasons = [
        f"{p.run.run_dir.name} ({p.run.summary.run_id}) is a development run: "
        + "; ".join(f"{b.text} [{b.rule}]" for b in p.eligibility.broken)
        for p in picked
        if p.eligibility.development_run
    ]
    seen: dict[tuple, str] = {}
    for p in picked:
        e = p.eligibility
        if e.development_run:
            continue
        where = (e.benchmark, e.scenario, e.mode)
        if where in seen:
            reasons.append(
                f"{p.run.run_dir.name} and {seen[where]} are both the {e.mode} run of "
                f"{e.benchmark} {e.scenario}: choose one with --runs"
            )
        seen[where] = p.run.run_dir.name
    if reasons:
        raise ExportRefused(
            f"refused: {len(reasons)} reason(s) the export would not pass {rnd.name}:\n  - "
            + "\n  - ".join(reasons)
        )
    return picked


def truncate_accuracy_log(src: Path, dst: Path) -> str:
    """Write `src` to `dst` as truncate_accuracy_log.py would (head and tail of KEEP_BYTES,
    joined by the `...` mark); return the sha256 of the whole original."""
    data = src.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > 2 * KEEP_BYTES + len(_MARK):
        data = data[:KEEP_BYTES] + _MARK + data[-KEEP_BYTES:]
    dst.write_bytes(data)
    return digest


def _system_json(runs: list[RunSummary], division: str, submitter: str, system: str):
    """(the fields known from the preflight facts, the required fields that are not)."""
    host = runs[0].host
    known: dict[str, object] = {
        "division": division,
        "submitter": submitter,
        "system_name": system,
        "number_of_nodes": len({r.node for r in runs}),
    }
    if host.gpus:
        names = sorted({g.name for g in host.gpus if g.name})
        mems = sorted({g.memory_total_mib for g in host.gpus if g.memory_total_mib})
        known["accelerators_per_node"] = len(host.gpus)
        if len(names) == 1:
            known["accelerator_model_name"] = names[0]
        if len(mems) == 1:
            known["accelerator_memory_capacity"] = f"{mems[0] / 1024:.0f} GB"
    elif host.gpu_state in ("no-driver", "no-nvidia-smi"):
        known["accelerators_per_node"] = 0
    if host.os_name or host.os:
        known["operating_system"] = host.os_name or host.os
    if host.cpu_model:
        known["host_processor_model_name"] = host.cpu_model
    if host.cpu_sockets:
        known["host_processors_per_node"] = host.cpu_sockets
    if host.cpu_cores:
        known["host_processor_core_count"] = host.cpu_cores
    if host.memory_bytes:
        # MemTotal: what the kernel can use, a little under the installed capacity.
        known["host_memory_capacity"] = f"{host.memory_bytes / 2**30:.0f} GiB (MemTotal)"
    stack = [
        f"{what} {value}"
        for what, value in (
            ("NVIDIA driver", host.driver),
            ("Python", host.python),
            ("LoadGen", host.loadgen_version),
        )
        if value
    ]
    if stack:
        known["other_software_stack"] = ", ".join(stack)
    return known, [f for f in SYSTEM_FIELDS if f not in known]


def _readme(run_dir: Path, summary: RunSummary) -> str:
    cmd = run_dir / "command.sh"
    lines = [
        f"# {summary.benchmark} {summary.scenario} on {summary.node}",
        "",
        f"Recorded by mlconsole {summary.mlconsole_version} as run `{summary.run_id}`.",
    ]
    if cmd.is_file():
        lines += ["", "The command that ran:", "", "```", cmd.read_text().strip(), "```"]
    return "\n".join(lines) + "\n"


def export_submission(
    results_dir: Path, out_dir: Path, *, round_name: str | None = None,
    division: str = "closed", submitter: str | None = None, system: str | None = None,
    runs: list[str] | None = None, inference_checkout: Path | None = None,
) -> Export:  # fmt: skip
    """Write the submission tree of the selected runs under `out_dir`."""
    rnd = get_round(round_name)
    if division not in ("closed", "open", "network"):
        raise ExportRefused(f"--division {division!r}: expected closed, open or network")
    if not submitter:
        raise ExportRefused("--submitter NAME is required: it names the submission's directory")
    picked = judge(select_runs(results_dir, runs), rnd, division)
    nodes = sorted({p.run.summary.node or "" for p in picked})
    if system is None and len(nodes) > 1:
        raise ExportRefused(f"runs of {len(nodes)} nodes ({', '.join(nodes)}): name --system")
    system = system or nodes[0]
    root = out_dir / division / submitter
    if root.exists() and any(root.iterdir()):
        raise ExportRefused(f"{root} exists and is not empty: export into a new directory")
    ex = Export(root)
    for p in picked:
        _write_run(ex, rnd, system, division, p)
    known, unknown = _system_json([p.run.summary for p in picked], division, submitter, system)
    ex.unknown[f"systems/{system}.json"] = unknown
    _write(ex, root / "systems" / f"{system}.json", json.dumps(known, indent=2) + "\n")
    _write(ex, out_dir / "export_notes.md", _notes(ex, rnd, picked))
    if inference_checkout is not None:
        ex.checker = run_checker(inference_checkout, out_dir, rnd, submitter)
    return ex


def _write(ex: Export, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    ex.files.append(path)


def _copy(ex: Export, src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    ex.files.append(dst)


def _write_run(ex: Export, rnd: Round, system: str, division: str, p: _Picked) -> None:
    e, src, s = p.eligibility, p.run.run_dir, p.run.summary
    scen_dir = ex.root / "results" / system / str(e.benchmark) / str(e.scenario)
    rel = f"{e.benchmark}/{e.scenario}"
    if e.mode == "accuracy":
        dst = scen_dir / "accuracy"
        for name in _LOGS:
            _copy(ex, src / name, dst / name)
        acc = src / "mlperf_log_accuracy.json"
        text = (src / "accuracy.txt").read_text() if (src / "accuracy.txt").is_file() else None
        if text is None:
            ex.missing.append(f"{rel} accuracy/accuracy.txt (the accuracy script's output)")
        if acc.is_file():
            digest = truncate_accuracy_log(acc, dst / "mlperf_log_accuracy.json")
            ex.files.append(dst / "mlperf_log_accuracy.json")
            if text is not None and "hash=" not in text:
                text = text.rstrip("\n") + f"\n\nhash={digest}\n"
        else:
            ex.missing.append(f"{rel} accuracy/mlperf_log_accuracy.json")
        if text is not None:
            _write(ex, dst / "accuracy.txt", text)
    else:
        for name in _LOGS:
            _copy(ex, src / name, scen_dir / "performance" / "run_1" / name)
        if rnd.layout == "v5":
            meas = ex.root / "measurements" / system / str(e.benchmark) / str(e.scenario)
        else:
            meas = scen_dir
        if (src / "user.conf").is_file():
            _copy(ex, src / "user.conf", meas / "user.conf")
        else:
            ex.missing.append(f"{rel} user.conf (the run dir has none)")
        _write(ex, meas / "README.md", _readme(src, s))
        _write(ex, meas / "measurements.json", "{}\n")
        ex.unknown[f"{rel} measurements.json"] = list(MEASUREMENT_FIELDS)
    tests = [t for t in _TESTS if (src / t).is_dir()]
    comp = scen_dir if rnd.layout == "v6" else (
        ex.root / "compliance" / system / str(e.benchmark) / str(e.scenario)
    )  # fmt: skip
    for t in tests:
        shutil.copytree(src / t, comp / t, dirs_exist_ok=True)
        ex.files.extend(sorted(f for f in (comp / t).rglob("*") if f.is_file()))
    bench = rnd.benchmarks.get(str(e.benchmark))
    if division == "closed" and e.mode != "accuracy" and bench is not None:
        for t in bench.compliance_tests:
            if t not in tests:
                ex.missing.append(f"{rel} {t} (compliance test; closed division)")


def _notes(ex: Export, rnd: Round, picked: list[_Picked]) -> str:
    lines = [
        f"# Submission export ({rnd.name}, checker --version {rnd.name})",
        "",
        "Runs exported, each eligible for the round:",
        "",
        *(
            f"- `{p.run.run_dir.name}` ({p.run.summary.run_id}): {p.eligibility.benchmark} "
            f"{p.eligibility.scenario} {p.eligibility.mode}"
            for p in picked
        ),
        "",
        "## Fields mlconsole cannot know (fill them in; they are left out, not guessed)",
        "",
    ]
    for file, fields in ex.unknown.items():
        lines.append(f"- {file}: {', '.join(fields)}")
    if ex.missing:
        lines += ["", "## Files the round wants that no exported run holds", ""]
        lines += [f"- {m}" for m in ex.missing]
    return "\n".join(lines) + "\n"


def run_checker(checkout: Path, out_dir: Path, rnd: Round, submitter: str) -> CheckerRun:
    """The official checker of a mlcommons/inference checkout over the export: the modular
    `tools.submission.submission_checker.main` where the checkout has it, else the older
    `tools/submission/submission_checker.py`. Its output is kept in `checker.log`."""
    modular = checkout / "tools" / "submission" / "submission_checker" / "main.py"
    script = checkout / "tools" / "submission" / "submission_checker.py"
    args = ["--input", str(out_dir.resolve()), "--version", rnd.name, "--submitter", submitter]
    if modular.is_file():
        cmd = [sys.executable, "-m", "tools.submission.submission_checker.main", *args]
    elif script.is_file():
        cmd = [sys.executable, str(script), *args]
    else:
        raise ExportRefused(
            f"{checkout}: not a mlcommons/inference checkout (no submission checker)"
        )
    done = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, timeout=1800)
    log = out_dir / "checker.log"
    log.write_text(done.stdout + done.stderr)
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
    return CheckerRun(tuple(cmd), done.returncode, log, tail)
