"""user.conf checks, each kind of mistake with its line number, and the grammar checked against
the real LoadGen's `TestSettings.FromConfig` on the same lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from engine.loadgen.userconf import (
    check_user_conf,
    is_c_number,
    loadgen_rejects,
)

GOOD = textwrap.dedent("""\
    # These fields should be defined and overridden by user.conf.
    gptj.*.performance_sample_count_override = 13368
    *.SingleStream.target_latency_percentile = 90
    *.MultiStream.samples_per_query = 8
    *.Server.target_latency = 10
    *.Server.target_qps = 1.0
    *.Offline.target_qps = 1.0
    llama3.1-8b.Server.target_qps = 0x10
    llama2-70b.Server.ttft_latency = 2000
    llama2-70b.*.use_token_latencies = 1
    gptj.*.token_latency_scaling_factor = 69

       # an indented comment
    #gptj.Server.target_qps = 40
    llama2-70b.Offline.min_duration = 600000
    """)


def messages(text: str) -> dict[int | None, str]:
    return {p.line: p.message for p in check_user_conf(text, source="u.conf")}


def test_a_good_user_conf_has_no_problems():
    assert check_user_conf(GOOD) == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ("gptj.Server.target_qps = 5 # forty", "is read as a second value, not as a comment"),
        ("gptj.Server.target_qps 5", "expected 'key = value'"),
        ("#note with words", "a comment must start with '# '"),
        (
            "gptj.Server.target_qps = fast",
            "value 'fast' for 'gptj.Server.target_qps' is not a number (expected an integer",
        ),
        ("gptj.Server.target_qps = 1_000", "is not a number"),
        ("gptj.Server.target_qps = 1e", "is not a number"),
        ("gptj.Server.target_qps=5", "has no spaces around '='"),
        ("gptj.Server.target_qps =", "has no value after '='"),
        ("gptj.Server.target_qps", "has no '= value'"),
        ("target_qps = 5", "should be model.Scenario.setting"),
        (
            "gptj.Interactive.target_qps = 5",
            "scenario 'Interactive' in 'gptj.Interactive."
            "target_qps' is not one of SingleStream, MultiStream, "
            "Server, Offline or '*'",
        ),
        ("gptj.Server.target_qsp = 5", "unknown setting 'target_qsp'"),
        ("*.*.qsl_rng_seed = 5", "read only from LoadGen's built-in mlperf.conf"),
        ("gptj.Server.min_query_count = -5", "is negative"),
        ("*.Server.target_latency = 2.5", "loses its fraction"),
        ("*.*.mode = 7", "mode must be 0 (submission), 1 (accuracy), 2 (performance) or 3"),
        ("*.Offline.target_latency = 10", "'target_latency' has no effect in Offline"),
        ("*.Server.samples_per_query = 8", "only for MultiStream"),
        ("gptj.Server.target_qps = 5 6", "has 2 values; LoadGen uses the last one ('6')"),
    ],
)
def test_each_kind_of_mistake_is_reported_on_its_line(line, expected):
    found = messages(f"# header\n{line}\n")
    assert list(found) == [2], found
    assert expected in found[2]


def test_a_repeated_key_points_at_both_lines():
    found = messages("*.Server.target_qps = 5\n\n*.Server.target_qps = 6\n")
    assert found == {3: "'*.Server.target_qps' is also set on line 1; LoadGen uses the last one"}


def test_numbers_as_strtoul_and_strtod_read_them():
    for token in (
        "5",
        "0x1F",
        "017",
        "08",
        "-3",
        "+2",
        ".5",
        "5.",
        "1e-3",
        "0x1p3",
        "inf",
        "NaN",
        "1E+06",
    ):
        assert is_c_number(token), token
    for token in ("0x", "1_000", "1e", "five", "#", "5,0", "1.2.3", ""):
        assert not is_c_number(token), token


# Every line's verdict from the real LoadGen: FromConfig returns -22 (-EINVAL) when it rejects
# the file. A subprocess keeps LoadGen's buffered config errors out of this process.
_FROM_CONFIG = """
import json, sys
import mlperf_loadgen as lg
out = []
for i, text in enumerate(json.load(sys.stdin)):
    path = f"u{i}.conf"
    with open(path, "w") as fh:
        fh.write(text)
    out.append(lg.TestSettings().FromConfig(path, "gptj", "Server", 1))
print(json.dumps(out))
"""

CROSS_CHECK = [
    GOOD,
    "gptj.Server.target_qps = 5 # forty\n",
    "gptj.Server.target_qps 5\n",
    "#note with words\n",
    "#note\n",
    "gptj.Server.target_qps = fast\n",
    "gptj.Server.target_qps = 1_000\n",
    "gptj.Server.target_qps = 1e\n",
    "gptj.Server.target_qps = # nothing\n",
    "gptj.Server.target_qps=5\n",
    "gptj.Server.target_qps =\n",
    "gptj.Server.target_qps = 0x1p3\n",
    "gptj.Server.target_qps = 0x\n",
    "gptj.Server.target_qps = -5\n",
    "gptj.Server.target_qps # = 5\n",
    "gptj.Server.target_qps = 5 6\n",
]


def test_rejections_match_the_real_loadgen(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _FROM_CONFIG],
        cwd=tmp_path,
        input=json.dumps(CROSS_CHECK),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    for text, code in zip(CROSS_CHECK, codes, strict=True):
        rejected = any(loadgen_rejects(p) for p in check_user_conf(text))
        assert rejected == (code != 0), (text, code)
    assert codes.count(-22) == 8  # the test itself must exercise both verdicts
