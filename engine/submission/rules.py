"""The submission rules of each MLPerf Inference round, as data: one `Round` per round, each
figure with the source it was read from.

Rules change every round (seeds, models, limits, layout); the eligibility check, the checker's
headline and the export read them from here and nowhere else, so a new round is a new entry
in `ROUNDS`, not new code. The benchmark figures of v5.1 and v6.0 agree for every benchmark
both rounds hold (`MODEL_CONFIG` in the checker's constants); what differs is the seeds, the
benchmark list, the headline keys and the layout.

Sources (read, not copied):
- `CONSTANTS`: mlcommons/inference@001d64ca `tools/submission/submission_checker/constants.py`
  (MODEL_CONFIG per round, OFFLINE_MIN_SPQ_SINCE_V4, LLM_LATENCY_LIMITS, RESULT_FIELD_NEW,
  RESULT_FIELD_BENCHMARK_OVERWRITE, UNIT_DICT, SYSTEM_DESC_*, *_PATH).
- `PERF_CHECK`: mlcommons/inference
  `tools/submission/submission_checker/checks/performance_check.py` (the keys each check reads).
- v6.0 seeds: mlcommons/inference@b66003e1 `loadgen/mlperf.conf` (LoadGen 6.0.17, the release
  the v6.0 round runs; the checker at 001d64ca still carried placeholder seeds marked
  "TODO: Update random seeds"). v5.1 seeds: the checker's v5.1 block, and every published
  v5.1 log under tests/data/published carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONSTANTS = "mlcommons/inference@001d64ca tools/submission/submission_checker/constants.py"
PERF_CHECK = "mlcommons/inference tools/submission/submission_checker/checks/performance_check.py"
MLPERF_CONF_60 = "mlcommons/inference@b66003e1 loadgen/mlperf.conf (LoadGen 6.0.17)"

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
# Scenarios whose run the checker judges by early stopping instead of a minimum query count.
EARLY_STOPPING_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Interactive")
_MS = 1_000_000  # ns per ms


@dataclass(frozen=True)
class LlmLimits:
    """p99 time-to-first-token and time-per-output-token limits (ns) of one scenario."""

    ttft_ns: int
    tpot_ns: int


@dataclass(frozen=True)
class BenchmarkRules:
    """One benchmark as the checker knows it (its directory name in a submission)."""

    name: str  # the checker's benchmark name: the results/<system>/<name>/ directory
    performance_sample_count: int
    dataset_size: int
    min_queries: dict[str, int]  # per scenario (used where early stopping does not apply)
    offline_min_samples_per_query: int | None = None
    server_latency_ns: int | None = None  # the Server latency bound (effective_target_latency_ns)
    llm: bool = False  # token latencies required, equal-issue mode, tokens/s headline
    equal_issue: bool = False  # sample_concatenate_permutation required (the LLMs: inference#1610)
    llm_limits: dict[str, LlmLimits] = field(default_factory=dict)
    compliance_tests: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()  # the scenarios a submission may hold for it
    headline_keys: dict[str, str] = field(default_factory=dict)  # per-benchmark overrides


@dataclass(frozen=True)
class Round:
    """One round's rules. `layout` is "v5" (compliance/ and measurements/ beside results/)
    or "v6" (TEST0X, measurements.json, user.conf and README.md inside the scenario dir)."""

    name: str  # "v5.1": the checker's --version string
    seeds: dict[str, int]
    seeds_source: str
    benchmarks: dict[str, BenchmarkRules]
    headline_keys: dict[str, str]  # per scenario: RESULT_FIELD_NEW
    llm_headline_keys: dict[str, str]  # per scenario for LLMs: RESULT_FIELD_BENCHMARK_OVERWRITE
    layout: str
    code_dir: str  # "code" (v5.x) or "src" (v6.x)
    min_duration_ms: int = 600_000  # TEST_DURATION_MS
    source: str = CONSTANTS


_SS, _MSQ, _SRV = 1024, 270336, 270336
# min-queries per scenario (the shapes the benchmarks share).
_Q_VISION = {"SingleStream": _SS, "MultiStream": _MSQ, "Server": _SRV, "Offline": 1}
_Q_SS_OFF = {"SingleStream": _SS, "Offline": 1}
_Q_SRV_OFF = {"Server": _SRV, "Offline": 1}
_Q_ALL = {"SingleStream": _SS, "Server": _SRV, "Offline": 1}
_Q_SS = {"SingleStream": _SS}
# The scenarios a submission may hold.
_VISION = ("SingleStream", "MultiStream", "Server", "Offline")
_DC_LLM = ("Offline", "Server", "Interactive")
_SS_OFF = ("SingleStream", "Offline")
_SRV_OFF = ("Server", "Offline")
_T01, _T01_04, _T06 = ("TEST01",), ("TEST01", "TEST04"), ("TEST06",)

# Every benchmark of v5.1 and v6.0 with its figures (CONSTANTS: performance-sample-count,
# dataset-size, min-queries, latency-constraint, OFFLINE_MIN_SPQ_SINCE_V4, models_TEST0X).
# The values agree between the two rounds for each benchmark both hold. One row a benchmark:
_ROWS: tuple[tuple[str, int, int, dict[str, int], int, int | None, tuple, tuple], ...] = (
    # name, performance-sample-count, dataset-size, min-queries, offline min samples per
    # query, Server latency bound (ms; None: none), compliance tests, scenarios
    ("resnet",              1024,    50000,  _Q_VISION,  24576,  15,    _T01_04, _VISION),
    ("retinanet",           64,      24781,  _Q_VISION,  24576,  100,   _T01, _VISION),
    ("bert-99",             10833,   10833,  _Q_SS_OFF,  10833,  None,  _T01, _SS_OFF),
    ("bert-99.9",           10833,   10833,  _Q_SS_OFF,  10833,  None,  _T01, _SS_OFF),
    ("dlrm-v2-99",          204800,  330067, _Q_SRV_OFF, 24576,  60,    _T01, _SRV_OFF),
    ("dlrm-v2-99.9",        204800,  330067, _Q_SRV_OFF, 24576,  60,    _T01, _SRV_OFF),
    ("3d-unet-99",          43,      43,     _Q_SS_OFF,  43,     None,  _T01, _SS_OFF),
    ("3d-unet-99.9",        43,      43,     _Q_SS_OFF,  43,     None,  _T01, _SS_OFF),
    ("llama3.1-8b",         13368,   13368,  _Q_ALL,     13368,  20000, _T06, _DC_LLM),
    ("llama3.1-8b-edge",    5000,    5000,   _Q_SS_OFF,  5000,   None,  _T06, _SS_OFF),
    ("llama2-70b-99",       24576,   24576,  _Q_ALL,     24576,  20000, _T06, _DC_LLM),
    ("llama2-70b-99.9",     24576,   24576,  _Q_ALL,     24576,  20000, _T06, _DC_LLM),
    ("stable-diffusion-xl", 5000,    5000,   _Q_ALL,     5000,   20000, _T01_04,
     ("SingleStream", "Server", "Offline")),
    ("mixtral-8x7b",        15000,   15000,  _Q_ALL,     15000,  20000, _T06, _SRV_OFF),
    ("llama3.1-405b",       8313,    8313,   _Q_ALL,     8313,   60000, _T06, _DC_LLM),
    ("rgat",                788379,  788379, _Q_SS_OFF,  788379, None,  _T01, ("Offline",)),
    ("pointpainting",       1024,    39987,  _Q_SS,      6636,   None,  _T01_04, ("SingleStream",)),
    ("deepseek-r1",         4388,    4388,   _Q_ALL,     4388,   60000, _T06, _DC_LLM),
    ("whisper",             1633,    1633,   _Q_SS_OFF,  1633,   None,  _T01, ("Offline",)),
    ("gpt-oss-120b",        6396,    6396,   _Q_ALL,     6396,   60000, ("TEST07", "TEST09"),
     _DC_LLM),
)  # fmt: skip
# The LLMs (token latencies, equal-issue mode, a tokens/s headline) and their p99 TTFT and
# TPOT limits in ms, Server then Interactive (CONSTANTS LLM_LATENCY_LIMITS; none: no limit
# tabulated).
_LLM_LIMITS_MS: dict[str, tuple[tuple[int, int], ...]] = {
    "llama3.1-8b": ((2000, 100), (500, 30)),
    "llama3.1-8b-edge": (),
    "llama2-70b-99": ((2000, 200), (450, 40)),
    "llama2-70b-99.9": ((2000, 200), (450, 40)),
    "mixtral-8x7b": ((2000, 200),),
    "llama3.1-405b": ((6000, 175), (4500, 80)),
    "deepseek-r1": ((2000, 80), (1500, 15)),
    "whisper": (),
    "gpt-oss-120b": ((3000, 80), (2000, 15)),
}
_HEADLINE_OVERRIDES = {"llama3.1-8b-edge": {"SingleStream": "result_90.00_percentile_latency_ns"}}


def _rules(row: tuple) -> BenchmarkRules:
    name, psc, size, min_queries, spq, lat_ms, tests, scenarios = row
    limits = _LLM_LIMITS_MS.get(name)
    return BenchmarkRules(
        name, psc, size, min_queries, spq, lat_ms * _MS if lat_ms is not None else None,
        llm=limits is not None, equal_issue=limits is not None,
        llm_limits={
            scenario: LlmLimits(ttft * _MS, tpot * _MS)
            for scenario, (ttft, tpot) in zip(("Server", "Interactive"), limits or (), strict=False)
        },
        compliance_tests=tests, scenarios=scenarios,
        headline_keys=_HEADLINE_OVERRIDES.get(name, {}),
    )  # fmt: skip


_BENCHMARKS = {row[0]: _rules(row) for row in _ROWS}

_V51_NAMES = (
    "resnet", "retinanet", "bert-99", "bert-99.9", "dlrm-v2-99", "dlrm-v2-99.9", "3d-unet-99",
    "3d-unet-99.9", "llama3.1-8b", "llama3.1-8b-edge", "llama2-70b-99", "llama2-70b-99.9",
    "stable-diffusion-xl", "mixtral-8x7b", "llama3.1-405b", "rgat", "pointpainting",
    "deepseek-r1", "whisper",
)  # fmt: skip
# v6.0 drops dlrm-v2 (dlrm-v3 replaces it) and adds gpt-oss-120b (CONSTANTS MODEL_CONFIG
# v6.0 "models"; qwen3-vl, wan-2.2, dlrm-v3 and yolo are not tabulated here yet).
_V60_NAMES = tuple(n for n in _V51_NAMES if not n.startswith("dlrm-v2")) + ("gpt-oss-120b",)

_HEADLINE = {
    "Offline": "result_samples_per_second",
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",
    "Server": "result_completed_samples_per_sec",
    "Interactive": "result_completed_samples_per_sec",
}
_LLM_HEADLINE = {
    "Offline": "result_tokens_per_second",
    "Server": "result_completed_tokens_per_second",
    "Interactive": "result_completed_tokens_per_second",
}

ROUNDS: dict[str, Round] = {
    r.name: r
    for r in (
        Round(
            "v5.1",
            {
                "qsl_rng_seed": 1780908523862526354,
                "sample_index_rng_seed": 14771362308971278857,
                "schedule_rng_seed": 18209322760996052031,
            },
            CONSTANTS + " MODEL_CONFIG['v5.1']['seeds']",
            {n: _BENCHMARKS[n] for n in _V51_NAMES},
            _HEADLINE,
            _LLM_HEADLINE,
            layout="v5",
            code_dir="code",
        ),
        Round(
            "v6.0",
            {
                "qsl_rng_seed": 2085463073848966840,
                "sample_index_rng_seed": 2747215439041700203,
                "schedule_rng_seed": 16159082839903944936,
            },
            MLPERF_CONF_60,
            {n: _BENCHMARKS[n] for n in _V60_NAMES},
            _HEADLINE,
            _LLM_HEADLINE,
            layout="v6",
            code_dir="src",
        ),
    )
}
DEFAULT_ROUND = "v6.0"

# LoadGen model names (user.conf keys, mlconsole's `model`) -> (benchmark, scenario override).
# CONSTANTS model_mapping, plus the `-interactive` config keys LoadGen reads for Interactive.
_ALIASES: dict[str, tuple[str, str | None]] = {
    "resnet50": ("resnet", None),
    "bert": ("bert-99", None),
    "dlrm-v2": ("dlrm-v2-99", None),
    "3d-unet": ("3d-unet-99", None),
    "llama2-70b": ("llama2-70b-99", None),
    "llama2-70b-interactive": ("llama2-70b-99", "Interactive"),
    "llama3_1-8b": ("llama3.1-8b", None),
    "llama3_1-8b-edge": ("llama3.1-8b-edge", None),
    "llama3_1-8b-interactive": ("llama3.1-8b", "Interactive"),
    "llama3_1-405b": ("llama3.1-405b", None),
    "llama3_1-405b-interactive": ("llama3.1-405b", "Interactive"),
    "deepseek-r1-interactive": ("deepseek-r1", "Interactive"),
    "gpt-oss-120b-interactive": ("gpt-oss-120b", "Interactive"),
}


def get_round(name: str | None) -> Round:
    """The round named (`v6.0`, also `6.0`), or the default round; KeyError names the known."""
    key = name or DEFAULT_ROUND
    key = key if key.startswith("v") else f"v{key}"
    if key not in ROUNDS:
        raise KeyError(f"unknown round {name!r}; known: {', '.join(ROUNDS)}")
    return ROUNDS[key]


def resolve_benchmark(model: str | None) -> tuple[str | None, str | None]:
    """(the checker's benchmark name, a scenario it implies) for a LoadGen model name or a
    benchmark directory name; (None, None) for a name neither knows (a custom harness, `*`)."""
    if not model or model == "*":
        return None, None
    if model in _BENCHMARKS:
        return model, None
    if model in _ALIASES:
        return _ALIASES[model]
    return None, None
