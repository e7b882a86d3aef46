"""Checks a user.conf before launch, the way LoadGen's `TestSettings::FromConfig` reads it.

LoadGen's parser is unforgiving in surprising ways, and its mistakes are silent: one bad value
makes it apply *nothing* from the file (the run then starts with defaults, including the
embedded mlperf.conf's 10-minute min_duration), while `key=value` written without spaces is
taken as a key with no value and skipped. The grammar, checked against LoadGen 6.0.17:

- each line is split on whitespace; tokens are key, `=`, value;
- a `#` token ends the line only before the value; after it, `#` is read as another value
  and rejected (so `key = 5 # note` makes LoadGen reject the file);
- a value must parse whole as `strtoul(base 0)` (so `0x10` is fine) or `strtod`;
- the key is `model.Scenario.setting`, model or Scenario may be `*`, the model may itself
  hold dots (`llama3.1-8b`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.loadgen.records import Problem

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")

# Settings FromConfig reads from a user.conf, and the scenarios whose key part they are looked
# up under (None: any scenario). Verified against mlcommons-loadgen 6.0.17.
KNOWN_SETTINGS: dict[str, tuple[str, ...] | None] = {
    "mode": None,
    "target_qps": ("Server", "Offline"),
    "target_latency": ("SingleStream", "MultiStream", "Server"),
    "target_latency_percentile": ("SingleStream", "MultiStream", "Server"),
    "samples_per_query": ("MultiStream",),
    "min_duration": None,
    "max_duration": None,
    "min_query_count": None,
    "max_query_count": None,
    "performance_sample_count_override": None,
    "accuracy_sample_count_override": None,
    "coalesce_queries": ("Server",),
    "max_async_queries": ("Server",),
    "performance_issue_unique": None,
    "performance_issue_same": None,
    "performance_issue_same_index": None,
    "sample_concatenate_permutation": None,
    "print_timestamps": None,
    "use_token_latencies": None,
    "ttft_latency": ("Server",),
    "tpot_latency": ("Server",),
    "infer_token_latencies": None,
    "token_latency_scaling_factor": None,
    "accuracy_log_rng_seed": None,
    "accuracy_log_sampling_target": None,
    "accuracy_log_probability": None,
}
# Read only from LoadGen's built-in mlperf.conf: in a user.conf they do nothing.
MLPERF_CONF_ONLY = frozenset(
    {
        "qsl_rng_seed",
        "sample_index_rng_seed",
        "schedule_rng_seed",
        "test05",
        "test05_qsl_rng_seed",
        "test05_sample_index_rng_seed",
        "test05_schedule_rng_seed",
    }
)
# Read with strtoull, so a fraction is cut off (`target_latency = 2.5` is 2 ms).
_INTEGER_SETTINGS = frozenset(KNOWN_SETTINGS) - {
    "target_qps",
    "target_latency_percentile",
    "accuracy_log_probability",
}

_STRTOUL = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_STRTOD = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))"
)

_REJECTS = "LoadGen rejects the whole file and applies none of it"
_IGNORES = "LoadGen ignores this line without a word"


def is_c_number(token: str) -> bool:
    """True when the whole token parses as C's strtoul(base 0) or strtod, as LoadGen needs."""
    return bool(_STRTOUL.fullmatch(token) or _STRTOD.fullmatch(token))


def loadgen_rejects(problem: Problem) -> bool:
    """True for a problem that makes FromConfig reject the whole file (and apply none of it)."""
    return problem.message.startswith(_REJECTS)


def check_user_conf(text: str, source: str = "user.conf") -> list[Problem]:
    """Problems in a user.conf, each with its line number and what was expected.

    A message starting with "LoadGen rejects" means FromConfig would fail (-EINVAL) and apply
    nothing from the file; the others describe settings that would silently not take effect
    or not mean what they look like.
    """
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0] == "#":
            continue
        key = tokens[0]
        if len(tokens) == 1 or (len(tokens) >= 2 and tokens[1] == "#"):
            if key.startswith("#"):
                continue  # "#comment" alone: a key with no value, harmless
            if "=" in key:
                problems.append(
                    Problem(
                        source,
                        n,
                        f"{_IGNORES}: {key!r} has no spaces around '='; write 'key = value'",
                    )
                )
            else:
                problems.append(Problem(source, n, f"{_IGNORES}: {key!r} has no '= value'"))
            continue
        if tokens[1] != "=":
            hint = (
                " (a comment must start with '# ' as its own word)" if key.startswith("#") else ""
            )
            problems.append(
                Problem(
                    source,
                    n,
                    f"{_REJECTS}: expected 'key = value' but found "
                    f"{tokens[1]!r} after {key!r}{hint}",
                )
            )
            continue
        values = tokens[2:]
        if not values:
            problems.append(Problem(source, n, f"{_IGNORES}: {key!r} has no value after '='"))
            continue
        bad = next((v for v in values if not is_c_number(v)), None)
        if bad is not None and bad.startswith("#"):
            problems.append(
                Problem(
                    source,
                    n,
                    f"{_REJECTS}: {bad!r} after the value of {key!r} "
                    "is read as a second value, not as a comment "
                    "(expected comments on their own line)",
                )
            )
            continue
        if bad is not None:
            problems.append(
                Problem(
                    source,
                    n,
                    f"{_REJECTS}: value {bad!r} for {key!r} is not "
                    "a number (expected an integer: decimal, 0x hex "
                    "or 0 octal; or a decimal number)",
                )
            )
            continue
        if key.startswith("#"):
            continue  # "#model.Scenario.key = 5": a key no lookup matches, i.e. commented out
        if len(values) > 1:
            problems.append(
                Problem(
                    source,
                    n,
                    f"{key!r} has {len(values)} values; LoadGen uses the last one ({values[-1]!r})",
                )
            )
        problems.extend(_check_key(source, n, key, values[-1]))
        if key in seen:
            problems.append(
                Problem(
                    source, n, f"{key!r} is also set on line {seen[key]}; LoadGen uses the last one"
                )
            )
        seen[key] = n
    return problems


def _check_key(source: str, n: int, key: str, value: str) -> list[Problem]:
    parts = key.split(".")
    if len(parts) < 3 or not all(parts):
        return [
            Problem(
                source,
                n,
                f"key {key!r} should be model.Scenario.setting (model or Scenario may be '*')",
            )
        ]
    scenario, setting = parts[-2], parts[-1]
    out: list[Problem] = []
    if scenario != "*" and scenario not in SCENARIOS:
        out.append(
            Problem(
                source,
                n,
                f"scenario {scenario!r} in {key!r} is not one of "
                f"{', '.join(SCENARIOS)} or '*'; the line has no effect",
            )
        )
    if setting in MLPERF_CONF_ONLY:
        out.append(
            Problem(
                source,
                n,
                f"{setting!r} is read only from LoadGen's built-in "
                "mlperf.conf; in a user.conf it has no effect",
            )
        )
        return out
    if setting not in KNOWN_SETTINGS:
        out.append(
            Problem(
                source,
                n,
                f"unknown setting {setting!r}; LoadGen ignores it "
                f"(expected one of: {', '.join(sorted(KNOWN_SETTINGS))})",
            )
        )
        return out
    scenarios = KNOWN_SETTINGS[setting]
    if scenarios and scenario != "*" and scenario in SCENARIOS and scenario not in scenarios:
        out.append(
            Problem(
                source,
                n,
                f"{setting!r} has no effect in {scenario}; LoadGen reads "
                f"it only for {', '.join(scenarios)}",
            )
        )
    if value.lstrip("+").startswith("-") and setting in _INTEGER_SETTINGS:
        out.append(
            Problem(
                source,
                n,
                f"{setting!r} = {value} is negative; LoadGen reads it as "
                "an unsigned number and it wraps to a huge value",
            )
        )
    elif setting in _INTEGER_SETTINGS and not _STRTOUL.fullmatch(value):
        out.append(
            Problem(
                source,
                n,
                f"{setting!r} is read as a whole number; {value!r} loses "
                "its fraction (expected an integer)",
            )
        )
    if setting == "mode" and value not in ("0", "1", "2", "3"):
        out.append(
            Problem(
                source,
                n,
                "mode must be 0 (submission), 1 (accuracy), "
                f"2 (performance) or 3 (find peak), not {value!r}",
            )
        )
    return out


def conf_assignments(text: str) -> list[tuple[int, str, str]]:
    """The `(line, key, value)` assignments LoadGen would take from a user.conf, with its
    tokenising (the checks above say which lines it rejects or skips; those are left out).
    A key set twice keeps both entries: LoadGen uses the last one."""
    out: list[tuple[int, str, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if len(tokens) < 3 or tokens[1] != "=" or tokens[0].startswith("#"):
            continue
        values = tokens[2:]
        if all(is_c_number(v) for v in values):
            out.append((n, tokens[0], values[-1]))
    return out


def lookup_setting(
    assignments: Iterable[tuple[int, str, str]], model: str, scenario: str, setting: str
) -> tuple[int, str] | None:
    """`(line, value)` of the assignment LoadGen applies for `setting` of `model` in
    `scenario`: `model.Scenario.key` before `*.Scenario.key` before `model.*.key` before
    `*.*.key`, the last line of each; None when the user.conf does not set it."""
    found: dict[str, tuple[int, str]] = {}
    for n, key, value in assignments:
        found[key] = (n, value)
    for m, s in ((model, scenario), ("*", scenario), (model, "*"), ("*", "*")):
        hit = found.get(f"{m}.{s}.{setting}")
        if hit is not None:
            return hit
    return None
