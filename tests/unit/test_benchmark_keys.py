"""The benchmark keys of issue 15 refuse what cannot work, with the key and what to write."""

from __future__ import annotations

import pytest

from engine.config.load import parse_config
from engine.errors import ConfigError

BASE = """
[nodes.n]
transport = "local"
[benchmarks.b]
command = "{command}"
{extra}
"""


def config(extra: str, command: str = "run --user-conf {{user_conf}}"):
    return parse_config(BASE.format(command=command, extra=extra), "t.toml")


@pytest.mark.parametrize(
    ("extra", "command", "key", "said"),
    [
        ('exact_samples = true\ndataset_size = 10', "run --user-conf {{user_conf}}",
         "benchmarks.b.exact_samples", 'loadgen_settings = "user_conf"'),
        ('loadgen_settings = "user_conf"\ndataset_size = 10', "run",
         "benchmarks.b.loadgen_settings", "never passes {user_conf}"),
        ('trace_flag = "enable-trace"\ndataset_size = 10', "run", "benchmarks.b.trace_flag",
         "command-line flag"),
        ('progress_stream = "stdin"\ndataset_size = 10', "run", "benchmarks.b.progress_stream",
         'one of "stdout", "stderr", "both"'),
        ('model = "demo"', "run", "benchmarks.b.dataset_size", "is missing"),
    ],
)  # fmt: skip
def test_bad_benchmark_keys_are_one_clear_error(extra, command, key, said) -> None:
    with pytest.raises(ConfigError) as err:
        config(extra, command)
    assert key in str(err.value) and said in str(err.value), str(err.value)
    assert err.value.exit_code == 2


def test_a_loadgen_model_name_brings_its_dataset_size() -> None:
    assert config('model = "llama3_1-8b"').benchmarks["b"].dataset_size == 13368
    assert config('model = "gptj"\ndataset_size = 100').benchmarks["b"].dataset_size == 100


def test_trace_adds_the_harness_flag_once() -> None:
    from engine.model import Mode, RunSpec, Scenario
    from engine.run.templates import render_run

    c = config('dataset_size = 10\ntrace = true\ntrace_flag = "--enable-log-trace"', "run x")
    spec = RunSpec("r", "n", "b", Scenario.SERVER, Mode.PERFORMANCE, 5)
    rendered = render_run(
        c.nodes["n"], c.benchmarks["b"], spec, output_dir="/o", user_conf_path="/o/u"
    )
    assert rendered.command == "run x --enable-log-trace"
