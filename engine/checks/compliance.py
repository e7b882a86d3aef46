"""Compliance tests: which test a model takes, the audit.config each test places, the marker
that makes an audit.config mlconsole placed recognisable, and the record of one test run.

Facts (mlcommons/inference `compliance/README.md`, `compliance/TEST04/audit.config`,
`compliance/TEST06/audit.config`, as collected in /work/shared/reference/submission-facts.md
and mlperf-facts.md 1.6): TEST06 (first token, EOS, token counts) is for the LLMs; TEST01
(accuracy in performance mode) and TEST04 (same-sample performance) for the others. The
audit.config goes into the harness's working directory for that run only and is removed
afterwards "to prevent unintentionally running in compliance testing mode". TEST04's and
TEST06's audit.config are the same for every model, so mlconsole carries their settings;
TEST01's differs per model (its `accuracy_log_sampling_target`), so a stage names the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import ComplianceTest
from engine.results.record import record_to_json

TESTS = ("TEST01", "TEST04", "TEST06")
# LoadGen model names that take TEST06 (and neither TEST01 nor TEST04).
TEST06_MODELS = frozenset(
    {"llama2-70b", "llama2-70b-interactive", "mixtral-8x7b", "llama3_1-405b", "llama3_1-8b",
     "llama3_1-8b-edge", "llama3_1-8b-interactive", "deepseek-r1"}
)  # fmt: skip
# The first line of every audit.config mlconsole places; LoadGen's parser skips `#` lines.
MARKER = "# mlconsole: placed for compliance run"
VERIFY_FILE = "compliance_verify.txt"
VERIFY_STDERR = "compliance_verify_stderr.txt"
# What LoadGen's detail log says when it read an audit.config.
AUDIT_FOUND = "Found Audit Config file"

_TEST04 = "".join(
    f"*.{s}.mode = 2\n*.{s}.performance_issue_unique = 0\n*.{s}.performance_issue_same = 1\n"
    f"*.{s}.performance_issue_same_index = 3\n"
    for s in ("Offline", "Server", "SingleStream", "MultiStream")
)
_TEST06 = (
    "*.*.mode = 2\n*.*.accuracy_log_rng_seed = 720381539243781796\n"
    "*.*.accuracy_log_sampling_target = 100\n*.*.min_query_count = 100\n*.*.min_duration = 0\n"
    "*.*.sample_concatenate_permutation = 0\n"
)
BUILTIN_AUDIT_CONFIGS: Mapping[str, str] = {"TEST04": _TEST04, "TEST06": _TEST06}
AUDIT_SOURCE = "mlcommons/inference compliance/{test}/audit.config"


def tests_for(model: str) -> tuple[str, ...] | None:
    """The compliance tests a LoadGen model takes; None for a model MLPerf does not name
    (a custom harness, the bundled `demo`): any test may run."""
    from engine.loadgen.models import model_facts

    if model in TEST06_MODELS:
        return ("TEST06",)
    if model_facts(model) is not None:
        return ("TEST01", "TEST04")
    return None


def placed_text(text: str, run_dir: str, test: str) -> str:
    """The audit.config as mlconsole writes it: the marker line, then the test's settings."""
    return f"{MARKER} {run_dir} ({test}); removed when the run ends\n{text.rstrip()}\n"


def placed_by_mlconsole(first_line: str) -> bool:
    return first_line.startswith(MARKER)


_PASS = re.compile(r"^(?P<what>.*?\b(?:pass|PASS))\s*:\s*(?P<value>True|False)\s*$")


def verification_passed(text: str, exit_code: int | None) -> tuple[bool | None, tuple[str, ...]]:
    """Whether a verification script's output says the test passed, and the lines that say
    it (`First token check pass: True`, `TEST PASS`, `TEST FAIL`). None: it says neither."""
    said: list[str] = []
    verdicts: list[bool] = []
    for raw in text.splitlines():
        line = raw.strip()
        if m := _PASS.match(line):
            said.append(line)
            verdicts.append(m.group("value") == "True")
        elif line in ("TEST PASS", "TEST FAIL") or line.startswith("TEST FAIL"):
            said.append(line)
            verdicts.append(line == "TEST PASS")
    if exit_code not in (None, 0):
        return False, tuple(said)
    if not verdicts:
        return None, ()
    return all(verdicts), tuple(said)


def test_to_json(t: ComplianceTest) -> dict[str, Any]:
    return {"test": t.test, "audit_config": t.audit_config, "source": t.source,
            "verify_command": t.verify_command}  # fmt: skip


def test_from_json(d: Any) -> ComplianceTest | None:
    if not isinstance(d, Mapping) or d.get("test") not in TESTS:
        return None
    verify = d.get("verify_command")
    return ComplianceTest(str(d["test"]), str(d.get("audit_config") or ""),
                          str(d.get("source") or ""),
                          verify if isinstance(verify, str) else None)  # fmt: skip


@dataclass(frozen=True)
class ComplianceRecord:
    """One compliance test run, as the run summary records it (`compliance` block).

    placed_at: the node-side audit.config path; removed: it was gone when the run ended
    (False: `removal_detail` says why, and the next preflight removes it); applied: LoadGen's
    detail log says it read an audit.config (None: no detail log); verify_*: the
    verification script, when configured."""

    test: str
    source: str
    placed_at: str | None = None
    removed: bool = False
    removal_detail: str = ""
    applied: bool | None = None
    verify_command: str | None = None
    verify_exit_code: int | None = None
    verify_file: str | None = None
    verify_passed: bool | None = None
    verify_lines: tuple[str, ...] = ()
    verify_detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, d: Any) -> ComplianceRecord | None:
        if not isinstance(d, Mapping):
            return None

        def s(k: str) -> str | None:
            return d.get(k) if isinstance(d.get(k), str) else None

        def b(k: str) -> bool | None:
            return d.get(k) if isinstance(d.get(k), bool) else None

        code = d.get("verify_exit_code")
        lines = d.get("verify_lines")
        return cls(
            test=s("test") or "?", source=s("source") or "", placed_at=s("placed_at"),
            removed=d.get("removed") is True, removal_detail=s("removal_detail") or "",
            applied=b("applied"), verify_command=s("verify_command"),
            verify_exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            verify_file=s("verify_file"), verify_passed=b("verify_passed"),
            verify_lines=tuple(str(x) for x in lines) if isinstance(lines, list) else (),
            verify_detail=s("verify_detail") or "",
        )  # fmt: skip

    def line(self) -> str:
        """One line: the test, whether LoadGen read its audit.config, that it is gone, and
        the verification's verdict."""
        applied = {True: "LoadGen read its audit.config", False: "LoadGen did NOT read its "
                   "audit.config", None: "LoadGen's reading of audit.config unknown"}[self.applied]
        removed = "removed after the run" if self.removed else f"NOT removed: {self.removal_detail}"
        if self.verify_command is None:
            verify = "no verification configured"
        elif self.verify_passed is None:
            detail = f": {self.verify_detail}" if self.verify_detail else ""
            verify = f"verification said no verdict{detail}"
        else:
            verify = "verification PASSED" if self.verify_passed else "verification FAILED"
        return f"{self.test}: {applied}, {removed}; {verify}"  # fmt: skip


def compliance_lines(record: ComplianceRecord | None, *, paths: bool = True) -> list[str]:
    """The compliance test in a few lines (run details, run report); `paths=False` (reports)
    leaves out the node's paths."""
    if record is None:
        return []
    where = f"{record.placed_at or '—'} " if paths else ""
    if paths or record.source.startswith("mlcommons/"):
        source = record.source
    else:
        source = "the stage's audit_config file"
    out = [record.line(), f"  audit.config: {where}(from {source})"]
    out += [f"  - {line}" for line in record.verify_lines]
    if record.verify_file:
        command = f" (command: {record.verify_command})" if paths else ""
        out.append(f"  output: {record.verify_file}{command}")
    return out
