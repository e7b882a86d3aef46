"""A `kind = "compliance"` stage's test: which TEST, the audit.config text it places, and its
verification command, checked when the config loads (engine/checks/compliance.py has the
facts). The stage runs like a run stage, each run carrying the test."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.checks.compliance import AUDIT_SOURCE, BUILTIN_AUDIT_CONFIGS, TESTS, tests_for
from engine.config.reader import REQUIRED, Section, quoted_list
from engine.model import Benchmark, ComplianceTest, Mode, NodeSpec
from engine.run.templates import BUILTIN_PLACEHOLDERS, TemplateSyntaxError, placeholders

# What a verification command may use besides a run's placeholders and the node's vars.
VERIFY_PLACEHOLDERS = frozenset({"compliance_dir", "test", "accuracy_log"})


def compliance_test(
    sec: Section,
    bench: Benchmark,
    mode: Mode,
    nodes: Mapping[str, NodeSpec],
    stage_nodes: tuple[str, ...],
) -> ComplianceTest:
    test = sec.word("test", TESTS, REQUIRED)
    allowed = tests_for(bench.model)
    if allowed is not None and test not in allowed:
        raise sec.error(
            "test",
            f"{test} is not a compliance test of model {bench.model} (benchmark {bench.name})",
            f"one of {quoted_list(list(allowed))}: TEST06 for the LLMs, TEST01 and TEST04 "
            "for the others (mlcommons/inference compliance/README.md)",
        )
    if mode != Mode.PERFORMANCE:
        raise sec.error("mode", f'got "{mode}"', '"performance" (the audit.config sets mode 2)')
    if sec.has("audit_config"):
        path = Path(sec.string("audit_config", expected="the path of the test's audit.config"))
        if not path.is_absolute():
            path = Path(sec.source.file).parent / path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise sec.error("audit_config", f"cannot read {path}: {reason}",
                            "a readable audit.config file") from None  # fmt: skip
        source = str(path)
    elif test in BUILTIN_AUDIT_CONFIGS:
        text, source = BUILTIN_AUDIT_CONFIGS[test], AUDIT_SOURCE.format(test=test)
    else:
        raise sec.error(
            "audit_config",
            f"is missing: {test}'s audit.config differs per model",
            "the path of compliance/TEST01/<model>/audit.config from mlcommons/inference",
        )
    verify = sec.string("verify_command", None, expected="a command line (a template)")
    if verify is not None:
        try:
            used = placeholders(verify)
        except TemplateSyntaxError as err:
            raise sec.error("verify_command", str(err)) from None
        known = BUILTIN_PLACEHOLDERS | VERIFY_PLACEHOLDERS
        for name in sorted(used - known):
            if not all(name in nodes[n].vars for n in stage_nodes):
                raise sec.error(
                    "verify_command",
                    f"unknown placeholder {{{name}}}",
                    f"one of {', '.join(sorted(known))} or a var of every node of the stage",
                )
    return ComplianceTest(test, text, source, verify)
