"""LoadGen TestSettings for the demo harness, and the order in which their sources apply.

Three sources, later ones win:

1. LoadGen's embedded mlperf.conf (official seeds, 10-minute minimum durations, model keys);
2. the harness defaults below, derived from the command line: they make a run issue exactly
   the requested samples and end as soon as they are done;
3. the user.conf, when one is given: each key it sets for this model and scenario replaces
   the matching harness default.

LoadGen cannot apply a user.conf on top of settings a program chose (FromConfig always loads
mlperf.conf first, which would bring back the 10-minute minimum), so the harness calls
FromConfig once and then re-applies only the defaults the user.conf left alone. Which keys a
user.conf sets is read with the same tokenising rules LoadGen uses.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterator

import mlperf_loadgen as lg

SCENARIOS = ("Offline", "Server", "SingleStream", "MultiStream")
MODES = ("performance", "accuracy")

# Server latency bounds (target_latency, ttft, tpot) default to this many times the simulated
# value: a run at a sustainable QPS can be VALID, an overloaded one is not.
LATENCY_BOUND_FACTOR = 10

# user.conf keys that decide how many samples a run issues. When a user.conf gives one of
# them a value other than the harness's, only LoadGen knows the count (its detail log says
# it); otherwise the harness does.
RUN_LENGTH_KEYS = frozenset(
    {
        "mode",
        "min_duration",
        "max_duration",
        "min_query_count",
        "max_query_count",
        "target_qps",
        "target_latency",
        "samples_per_query",
        "performance_sample_count_override",
        "sample_concatenate_permutation",
        "performance_issue_unique",
        "performance_issue_same",
    }
)


class SettingsError(Exception):
    """The settings cannot be built; `str()` is one sentence for the user (exit code 2)."""


class RunRequest(
    namedtuple(
        "RunRequest",
        "scenario mode total_sample_count model target_qps node user_conf accuracy_log_probability",
        defaults=(None, None),
    )
):
    """What the command line asks of one run (immutable).

    scenario, mode: as on the command line; total_sample_count: QSL size; model: LoadGen model
    name for user.conf keys; target_qps: Server/Offline QPS; node: the `SimulatedNode`;
    user_conf: path or None; accuracy_log_probability: fraction 0..1 or None.
    """

    __slots__ = ()


class ConfLine(namedtuple("ConfLine", "line model scenario name value")):
    """One `model.scenario.name = value` assignment of a user.conf (all strings but `line`)."""

    __slots__ = ()


class ResolvedSettings(
    namedtuple(
        "ResolvedSettings",
        "settings accuracy token_latencies overridden expected_samples ignored_lines",
    )
):
    """The settings LoadGen will run with, and where they came from.

    settings: the `lg.TestSettings`; accuracy, token_latencies: what the SUT must do;
    overridden: user.conf key names that replaced harness defaults; expected_samples: samples
    LoadGen will issue, or None when a user.conf changed the run's length; ignored_lines:
    user.conf lines LoadGen silently ignores (for a warning).
    """

    __slots__ = ()


_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)")


def _is_number(token: str) -> bool:
    """Whether LoadGen's strtoul/strtod would consume the whole token."""
    if _INT.fullmatch(token):
        return True
    if "_" in token:
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


class ParsedConf(namedtuple("ParsedConf", "assignments errors ignored")):
    """A LoadGen .conf text read with LoadGen's own tokenising rules.

    assignments: `ConfLine`s; errors: (line number, LoadGen's reason) for lines that make
    FromConfig fail; ignored: lines LoadGen skips without a word (`key=value` with no spaces).
    """

    __slots__ = ()


def parse_conf(text: str) -> ParsedConf:
    """Read a user.conf the way LoadGen's FromConfig does.

    Whitespace-separated tokens `key = value`; a `#` token ends the line unless a value is
    expected (so `k = 1 # note` is an error in LoadGen); every token after `=` must be a
    number. A line that stops before its value (`k=1` is a single token) is skipped silently
    by LoadGen; those are reported in `ignored` so the harness can warn.
    """
    assignments: list[ConfLine] = []
    errors: list[tuple[int, str]] = []
    ignored: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        looking_for = 0  # 0 key, 1 "=", 2 value(s)
        key = value = None
        failed = False
        for token in raw.split():
            if token == "#" and looking_for != 2:
                break
            if looking_for == 2:
                if _is_number(token):
                    value = token
                    continue
                errors.append((number, "value needs to be integer or double"))
                failed = True
                break
            if looking_for == 1 and token != "=":
                errors.append((number, "expected 'key=value'"))
                failed = True
                break
            if looking_for == 0:
                key = token
            looking_for += 1
        if failed:
            continue
        if key is not None and value is None:
            ignored.append(number)
            continue
        if key is None or value is None:
            continue
        parts = key.split(".")
        if len(parts) == 3:
            assignments.append(ConfLine(number, parts[0], parts[1], parts[2], value))
    return ParsedConf(tuple(assignments), tuple(errors), tuple(ignored))


def keys_set_for(assignments: tuple[ConfLine, ...], model: str, scenario: str) -> set[str]:
    """Setting names the assignments give a value for this model and scenario."""
    return {
        a.name for a in assignments if a.model in (model, "*") and a.scenario in (scenario, "*")
    }


def _ns(seconds: float) -> int:
    return max(1, round(seconds * 1e9))


# A harness default: (user.conf key, TestSettings attribute, value given the settings so far).
Default = tuple[str, str, Callable[[lg.TestSettings], object]]


def _harness_defaults(req: RunRequest) -> Iterator[Default]:
    """The harness defaults, in the order they must apply.

    Values are functions of the settings so far because in MultiStream the latency and query
    count depend on samples_per_query, which a user.conf may have changed.
    """
    node = req.node
    n = req.total_sample_count
    accuracy = req.mode == "accuracy"

    def const(value: object) -> Callable[[lg.TestSettings], object]:
        return lambda s: value

    mode = lg.TestMode.AccuracyOnly if accuracy else lg.TestMode.PerformanceOnly
    yield "mode", "mode", const(mode)
    yield "min_duration", "min_duration_ms", const(0)
    yield "max_duration", "max_duration_ms", const(0)
    yield "performance_sample_count_override", "performance_sample_count_override", const(n)
    # Equal-issue mode (mlperf.conf turns it on for LLMs) pads the count to a multiple of the
    # loaded set; off, the run issues exactly what was asked.
    yield "sample_concatenate_permutation", "sample_concatenate_permutation", const(False)
    yield "use_token_latencies", "use_token_latencies", const(node.tokens > 0)
    if req.accuracy_log_probability is not None:
        p = req.accuracy_log_probability
        yield "accuracy_log_probability", "accuracy_log_probability", const(p)

    bound = LATENCY_BOUND_FACTOR
    if req.scenario == "Offline":
        yield "target_qps", "offline_expected_qps", const(float(req.target_qps))
        # With min_duration 0, LoadGen sizes the single query as min_query_count samples.
        yield "min_query_count", "min_query_count", const(n)
    elif req.scenario == "Server":
        yield "target_qps", "server_target_qps", const(float(req.target_qps))
        yield "target_latency", "server_target_latency_ns", const(_ns(node.service_s * bound))
        if node.tokens > 0:
            yield "ttft_latency", "ttft_latency", const(_ns(node.ttft_s * bound))
            yield "tpot_latency", "tpot_latency", const(_ns(node.tpot_s * bound))
        yield "min_query_count", "min_query_count", const(n)
    elif req.scenario == "SingleStream":
        yield "target_latency", "single_stream_expected_latency_ns", const(_ns(node.service_s))
        yield "min_query_count", "min_query_count", const(n)
    else:  # MultiStream
        yield "samples_per_query", "multi_stream_samples_per_query", const(8)
        yield (
            "target_latency",
            "multi_stream_expected_latency_ns",
            lambda s: _ns(node.query_time_s(s.multi_stream_samples_per_query)),
        )
        yield "min_query_count", "min_query_count", lambda s: multistream_queries(n, s)
    # No cap: with min_duration 0 LoadGen generates exactly min_query_count queries, and in
    # Server it logs reaching max_query_count as an error ("Ending early: Max query count
    # reached"). A user.conf that lengthens the run is then not cut short either.
    yield "max_query_count", "max_query_count", const(0)


def multistream_queries(samples: int, settings: lg.TestSettings) -> int:
    """Queries a MultiStream run needs to cover `samples`: the last one is filled up with
    samples LoadGen draws again from the loaded set."""
    per_query = max(1, settings.multi_stream_samples_per_query)
    return -(-samples // per_query)


def build_settings(req: RunRequest) -> ResolvedSettings:
    """Settings for `req`, in the documented order; raises SettingsError on a bad user.conf."""
    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, req.scenario)
    parsed = ParsedConf((), (), ())
    if req.user_conf is None:
        # conf_type 0: only the embedded mlperf.conf, so every run starts from the same base.
        rc = s.FromConfig("", req.model, req.scenario, 0)
        if rc != 0:
            raise SettingsError(f"LoadGen could not load its embedded mlperf.conf (code {rc})")
    else:
        try:
            with open(req.user_conf, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise SettingsError(f"cannot read --user-conf {req.user_conf}: {e.strerror}") from e
        except UnicodeDecodeError as e:
            raise SettingsError(f"--user-conf {req.user_conf} is not UTF-8 text") from e
        parsed = parse_conf(text)
        try:
            rc = s.FromConfig(req.user_conf, req.model, req.scenario, 1)
        except Exception as e:  # the binding raises on paths or values it cannot convert
            raise SettingsError(f"LoadGen rejected --user-conf {req.user_conf}: {e}") from e
        if rc != 0:
            where = "; ".join(f"line {n}: {why}" for n, why in parsed.errors[:3])
            raise SettingsError(
                f"LoadGen rejected --user-conf {req.user_conf} (FromConfig returned {rc})"
                + (f": {where}" if where else "")
                + "; LoadGen applies nothing from a file with an error"
            )

    from_user = keys_set_for(parsed.assignments, req.model, req.scenario)
    overridden: list[str] = []
    # user.conf keys whose value differs from the harness default, or that have none
    changed = set(from_user)
    for key, attr, value_of in _harness_defaults(req):
        changed.discard(key)
        value = value_of(s)
        if key in from_user:
            overridden.append(key)
            if getattr(s, attr) != value:
                changed.add(key)
        else:
            setattr(s, attr, value)

    accuracy = s.mode == lg.TestMode.AccuracyOnly
    if s.mode not in (lg.TestMode.AccuracyOnly, lg.TestMode.PerformanceOnly):
        raise SettingsError(
            "the user.conf sets a LoadGen mode this harness does not run "
            "(only 1 = accuracy and 2 = performance)"
        )
    token_latencies = bool(s.use_token_latencies)
    if token_latencies and req.node.tokens == 0:
        raise SettingsError(
            "the settings turn on use_token_latencies but the simulated node streams no "
            "tokens; pass --tokens T (T >= 2)"
        )

    expected: int | None
    if changed & RUN_LENGTH_KEYS:
        expected = None
    elif req.scenario == "MultiStream":
        expected = multistream_queries(req.total_sample_count, s) * (
            s.multi_stream_samples_per_query
        )
    else:
        expected = req.total_sample_count
    return ResolvedSettings(
        settings=s,
        accuracy=accuracy,
        token_latencies=token_latencies,
        overridden=tuple(sorted(overridden)),
        expected_samples=expected,
        ignored_lines=parsed.ignored,
    )
