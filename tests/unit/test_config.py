"""Config loading: a good config becomes the model's dataclasses; a bad one gives ONE error
that names the file, the key path, the line and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import configs
from engine.config.advice import config_warnings
from engine.config.find import find_config
from engine.config.load import (
    load_config,
    parse_config,
    snapshot_toml,
)
from engine.config.starter import ConfigFileExists, starter_config_text, write_starter_config
from engine.errors import ConfigError
from engine.model import GroupSpec, Mode, Plan, RunSpec, Scenario, Settings, Split
from tests.support.paths import REPO_ROOT

FULL = r'''
[settings]
results_dir = "results"
reports_dir = "reports"
poll_interval_s = 0.5
stall_timeout_s = 120
telemetry_interval_s = 1.0
theme = "dark"
baseline_node = "slow"

[nodes.slow]
transport = "local"
workdir = ".mlconsole/nodes/slow"
env = { OMP_NUM_THREADS = "1", HF_TOKEN = "hf_tok_s3cr3t", AWS_SECRET_ACCESS_KEY = "aws_s3cr3t" }
vars = { speed = 19 }
simulated = true
python = "python3"

[nodes.fast]
transport = "local"
vars = { speed = 60.5 }
simulated = true

[nodes.gpu1]
transport = "ssh"
host = "gpu1.example"
port = 2222
user = "bench"
identity_file = "~/.ssh/id_ed25519"
known_hosts = "~/.ssh/known_hosts"
verify_host_key = true
use_agent = false
workdir = "mlconsole"
gpus = [0, 1]
connect_timeout_s = 10
login_timeout_s = 20
keepalive_s = 15
max_sessions = 8
env = { db_password = "pw_s3cr3t" }
vars = { speed = 250, token = "tk_s3cr3t" }

[benchmarks.demo]
command = """{python} -m engine.harness.demo --scenario {scenario} --mode {mode} \
    --total-sample-count {samples} --shard-start {shard_start} --output-dir {output_dir} \
    --user-conf {user_conf} --speed {speed}"""
dataset_size = 13368
scenario = "Offline"
mode = "performance"
model = "demo"
log_dir = "{output_dir}"
cwd = "/opt/harness"
progress_pattern = 'progress (?P<completed>\d+)/(?P<total>\d+)'
user_conf = """
demo.Offline.min_duration = 0
"""
audit_config_intended = false
stall_timeout_s = 300
supports_shards = true
simulated = true

[benchmarks.llama]
command = "HF_TOKEN=hf_inline_s3cr3t {python} main.py --samples {samples}"
dataset_size = 24576
scenario = "Server"

[[plan]]
kind = "run"
nodes = ["fast"]
benchmark = "demo"
samples = 100
scenario = "Offline"
mode = "performance"
name = "smoke"

[[plan]]
kind = "sweep"
nodes = ["slow", "fast"]
benchmark = "demo"
samples = [50, 100, 200]

[[plan]]
kind = "group"
name = "pair"
nodes = ["slow", "fast"]
benchmark = "demo"
total_samples = 400
split = "auto"
calibrate = false

[[plan]]
kind = "run"
node = "gpu1"
benchmark = "llama"
samples = 10
mode = "accuracy"
'''

SECRETS = ("hf_tok_s3cr3t", "aws_s3cr3t", "pw_s3cr3t", "tk_s3cr3t", "hf_inline_s3cr3t")

MINIMAL = """
[nodes.a]
[nodes.b]

[benchmarks.bench]
command = "run --n {samples}"
dataset_size = 1000
"""


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str, key: str | None = None) -> ConfigError:
    """The one-line ConfigError loading `text` raises, naming the file (and `key`, if given)."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.file == str(path)
    assert str(err).startswith(str(path))
    assert "\n" not in str(err)  # one sentence, one line
    if key is not None:
        assert err.key == key
    return err


def _line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line that starts with `fragment`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(fragment):
            return number
    raise AssertionError(f"{fragment!r} not in the text")


# --- a good config ------------------------------------------------------------------------------


def test_full_config_becomes_the_models_dataclasses(tmp_path: Path) -> None:
    path = _write(tmp_path, FULL)
    config = load_config(path)
    assert config.source == str(path)
    assert config.raw["nodes"]["gpu1"]["port"] == 2222  # the parsed TOML, as written
    assert config.settings == Settings(
        results_dir="results",
        reports_dir="reports",
        poll_interval_s=0.5,
        stall_timeout_s=120.0,
        telemetry_interval_s=1.0,
        theme="dark",
        baseline_node="slow",
    )
    slow, gpu1 = config.nodes["slow"], config.nodes["gpu1"]
    assert list(config.nodes) == ["slow", "fast", "gpu1"]  # file order
    assert slow.transport == "local" and slow.simulated and slow.workdir == ".mlconsole/nodes/slow"
    assert slow.vars == {"speed": "19"} and config.nodes["fast"].vars == {"speed": "60.5"}
    assert slow.env["OMP_NUM_THREADS"] == "1"
    assert (gpu1.host, gpu1.port, gpu1.user, gpu1.gpus) == ("gpu1.example", 2222, "bench", (0, 1))
    assert gpu1.use_agent is False and gpu1.verify_host_key is True
    assert isinstance(gpu1.connect_timeout_s, float) and gpu1.keepalive_s == 15.0
    demo = config.benchmarks["demo"]
    assert demo.scenario is Scenario.OFFLINE and demo.mode is Mode.PERFORMANCE
    assert demo.command == (
        "{python} -m engine.harness.demo --scenario {scenario} --mode {mode} "
        "--total-sample-count {samples} --shard-start {shard_start} --output-dir {output_dir} "
        "--user-conf {user_conf} --speed {speed}"
    )
    assert demo.user_conf == "demo.Offline.min_duration = 0\n"
    assert demo.cwd == "/opt/harness" and demo.stall_timeout_s == 300.0
    llama = config.benchmarks["llama"]
    assert (llama.model, llama.log_dir, llama.cwd, llama.progress_pattern) == (
        "*",
        "{output_dir}",
        None,
        None,
    )
    assert config.simulated


def test_plan_stages_runs_and_group(tmp_path: Path) -> None:
    plan = load_config(_write(tmp_path, FULL)).plan
    assert [(s.name, s.kind) for s in plan.stages] == [
        ("smoke", "run"),
        ("sweep-2", "sweep"),
        ("pair", "group"),
        ("run-4", "run"),
    ]
    smoke, sweep, group, accuracy = plan.stages
    assert smoke.runs == (
        RunSpec(
            "s1-fast-100", "fast", "demo", Scenario.OFFLINE, Mode.PERFORMANCE, 100,
            stage="smoke", label="fast, 100 samples",
        ),  # fmt: skip
    )
    # Each node's runs in the order written, one node after the other.
    assert [r.run_id for r in sweep.runs] == [
        "s2-slow-50",
        "s2-slow-100",
        "s2-slow-200",
        "s2-fast-50",
        "s2-fast-100",
        "s2-fast-200",
    ]
    assert {r.stage for r in sweep.runs} == {"sweep-2"}
    assert group.runs == ()
    assert group.group == GroupSpec(
        group_id="s3-pair",
        name="pair",
        nodes=("slow", "fast"),
        benchmark="demo",
        scenario=Scenario.OFFLINE,
        mode=Mode.PERFORMANCE,
        total_samples=400,
        split=Split.AUTO,
        calibrate=False,
    )
    # The stage overrides the benchmark's mode and keeps its scenario.
    (run,) = accuracy.runs
    assert (run.run_id, run.scenario, run.mode) == ("s4-gpu1-10", Scenario.SERVER, Mode.ACCURACY)
    ids = [r.run_id for r in plan.all_runs()]
    assert len(ids) == len(set(ids)) == 8


def test_repeated_sweep_counts_get_distinct_run_ids(tmp_path: Path) -> None:
    text = MINIMAL + '[[plan]]\nkind = "sweep"\nnode = "a"\nbenchmark = "bench"\nsamples = [5, 5]\n'
    runs = load_config(_write(tmp_path, text)).plan.all_runs()
    assert [r.run_id for r in runs] == ["s1-a-5", "s1-a-5-2"]


def test_an_empty_plan_is_allowed(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.plan == Plan()
    assert config.settings == Settings()
    assert config.nodes["a"].transport == "local" and config.nodes["a"].gpus is None


def test_snapshot_round_trips_and_holds_no_secret(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, FULL))
    text = snapshot_toml(config)
    assert text.startswith("# mlconsole config snapshot")
    assert "redacted" in text.splitlines()[2].lower()
    for secret in SECRETS:
        assert secret not in text
    assert text.count('"<redacted>"') == 5
    assert 'OMP_NUM_THREADS = "1"' in text  # not everything is a secret
    assert "HF_TOKEN=<redacted> {python} main.py" in text
    again = load_config(_write(tmp_path, text, "snapshot.toml"))
    assert again.plan == config.plan
    assert again.settings == config.settings
    assert again.benchmarks["demo"] == config.benchmarks["demo"]
    assert again.nodes["fast"] == config.nodes["fast"]
    assert again.nodes["slow"].env["HF_TOKEN"] == "<redacted>"
    assert [w for w in config_warnings(again) if "host key" in w] == [
        w for w in config_warnings(config) if "host key" in w
    ]


# --- where the config comes from ----------------------------------------------------------------


def test_find_config_prefers_the_argument_then_cwd_then_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _write(tmp_path, MINIMAL, "given.toml")
    assert find_config(str(given)) == (given, f"using {given} (given on the command line)")
    with pytest.raises(ConfigError, match="no such config file"):
        find_config(str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="is not a file"):
        find_config(str(tmp_path))

    package = tmp_path / "pkg"
    package.mkdir()
    monkeypatch.setattr(configs, "__file__", str(package / "__init__.py"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(ConfigError, match="bundled demo config is missing"):
        find_config(None)
    (package / "demo.toml").write_text(MINIMAL)
    assert find_config(None) == (
        package / "demo.toml",
        "no config given and no ./mlconsole.toml: using the bundled demo",
    )
    (work / "mlconsole.toml").write_text(MINIMAL)
    assert find_config(None) == (Path("mlconsole.toml"), "using ./mlconsole.toml")


def test_the_bundled_demo_loads() -> None:
    """configs/demo.toml is committed: a missing one fails here, it is not skipped."""
    config = load_config(Path(configs.__file__).parent / "demo.toml")
    assert config.nodes and config.plan.stages


# --- one clear error per problem ----------------------------------------------------------------


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert str(info.value) == (
        f"{tmp_path / 'nope.toml'}: cannot read the config file: No such file or directory"
    )
    with pytest.raises(ConfigError, match="cannot read the config file: Is a directory"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[settings]\ntheme = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 23\)"):
        load_config(bad)


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    err = _error(tmp_path, '[settings]\ntheme = "dark"\nresults_dir = \n')
    assert err.line == 3
    assert str(err) == f"{err.file}:3: TOML syntax error: Invalid value at line 3, column 15"
    err = _error(tmp_path, "[nodes.a]\nport = 22\n[nodes.a]\n")
    assert err.line == 3 and "Cannot declare ('nodes', 'a') twice" in str(err)


@pytest.mark.parametrize(
    ("text", "key", "fragment", "expected"),
    [
        (
            "[node.a]\n",
            "node",
            '"node" is not a key of the config (top level); did you mean "nodes"?',
            '"settings", "nodes", "services", "benchmarks", "plan"',
        ),
        ("[settings]\nthem = 'x'\n", "settings.them", 'did you mean "theme"?', None),
        (
            '[nodes.gpu1]\ntransport = "ssh"\nhost = "h"\nprot = 22\n',
            "nodes.gpu1.prot",
            '"prot" is not a key of a node ([nodes.gpu1]); did you mean "port"?',
            None,
        ),
        (
            '[benchmarks.b]\ncommand = "x"\ndataset_size = 1\nuserconf = ""\n',
            "benchmarks.b.userconf",
            'did you mean "user_conf"?',
            None,
        ),
    ],
)
def test_unknown_keys_suggest_the_closest(
    tmp_path: Path, text: str, key: str, fragment: str, expected: str | None
) -> None:
    err = _error(tmp_path, text, key)
    assert fragment in str(err)
    assert err.line == len(text.splitlines())  # the offending key is on the last line
    if expected:
        assert err.expected == f"one of {expected}"


SSH = '[nodes.gpu1]\ntransport = "ssh"\nhost = "gpu1"\n'
BENCH = '[benchmarks.b]\ncommand = "x"\ndataset_size = 100\n'


WRONG_TYPES = [
    (
        SSH + 'port = "22"\n',
        "nodes.gpu1.port",
        'got a string "22" (expected an integer from 1 to 65535)',
    ),
    (
        SSH + "port = true\n",
        "nodes.gpu1.port",
        "got a boolean true (expected an integer from 1 to 65535)",
    ),
    (
        SSH + "port = 22.0\n",
        "nodes.gpu1.port",
        "got a float 22.0 (expected an integer from 1 to 65535)",
    ),
    (
        SSH + "max_sessions = false\n",
        "nodes.gpu1.max_sessions",
        "got a boolean false (expected an integer from 1 to 10)",
    ),
    (
        SSH + 'verify_host_key = "no"\n',
        "nodes.gpu1.verify_host_key",
        'got a string "no" (expected true or false)',
    ),
    (
        SSH + "connect_timeout_s = true\n",
        "nodes.gpu1.connect_timeout_s",
        "got a boolean true (expected a number of seconds > 0)",
    ),
    (SSH + "gpus = 0\n", "nodes.gpu1.gpus", "got an integer 0 (expected a non-empty array"),
    (SSH + "gpus = [0, true]\n", "nodes.gpu1.gpus[2]", "got True (expected a non-empty"),
    (
        SSH + 'env = "A=1"\n',
        "nodes.gpu1.env",
        'got a string "A=1" (expected a table of environment variables)',
    ),
    (
        SSH + "vars = { on = true }\n",
        "nodes.gpu1.vars.on",
        "got a boolean true (expected a string, integer or float)",
    ),
    ('nodes = ["a"]\n', "nodes", "got an array (expected a table of [nodes.<name>] tables)"),
    (
        BENCH.replace("100", '"100"'),
        "benchmarks.b.dataset_size",
        'got a string "100" (expected an integer >= 1)',
    ),
    (
        BENCH + "supports_shards = 1\n",
        "benchmarks.b.supports_shards",
        "got an integer 1 (expected true or false)",
    ),
    (
        BENCH + "user_conf = 5\n",
        "benchmarks.b.user_conf",
        "got an integer 5 (expected user.conf text (a template))",
    ),
    (
        "[settings]\ntheme = ''\n",
        "settings.theme",
        'got a string "" (expected a non-empty string)',
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "message", "line"),
    [
        (
            '[nodes.gpu1]\ntransport = "ssh"\nuser = "me"\n',
            "nodes.gpu1.host",
            "is missing (expected a host name or address (ssh nodes need one))",
            1,
        ),
        ("x = 1\n", "x", "is not a key", 1),
        (
            '[nodes.a]\n[benchmarks.b]\ndataset_size = 5\n[[plan]]\nkind = "run"\nnode = "a"\n'
            'benchmark = "b"\nsamples = 1\n',
            "plan[1].benchmark",
            "has no command, so a run stage cannot launch it",
            7,
        ),
        (
            '[benchmarks.b]\ncommand = "x"\n',
            "benchmarks.b.dataset_size",
            "is missing (expected an integer >= 1)",
            1,
        ),
        (
            MINIMAL + '[[plan]]\nnode = "a"\nbenchmark = "bench"\n',
            "plan[1].kind",
            'is missing (expected one of "run", "sweep", "group", "fleet", "concurrency_sweep",'
            ' "compliance", "qps_search")',
            8,
        ),
        (
            MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\n',
            "plan[1].benchmark",
            "is missing (expected the name of a [benchmarks.*] table)",
            8,
        ),
        (
            MINIMAL + '[[plan]]\nkind = "run"\nbenchmark = "bench"\nsamples = 1\n',
            "plan[1].nodes",
            "is missing (expected node = ",
            8,
        ),
        (
            MINIMAL + '[[plan]]\nkind = "sweep"\nnode = "a"\nbenchmark = "bench"\n',
            "plan[1].samples",
            "is missing (expected a non-empty array of sample counts",
            8,
        ),
        (
            MINIMAL + '[[plan]]\nkind = "group"\nnodes = ["a", "b"]\nbenchmark = "bench"\n',
            "plan[1].total_samples",
            "is missing (expected an integer from 1 to 1000",
            8,
        ),
    ],
)
def test_missing_required_fields_point_at_their_table(
    tmp_path: Path, text: str, key: str, message: str, line: int
) -> None:
    err = _error(tmp_path, text, key)
    assert message in str(err)
    assert err.line == line


OUT_OF_RANGE = [
    (SSH + "port = 0\n", "nodes.gpu1.port", "got an integer 0 (expected an integer from 1"),
    (SSH + "port = 65536\n", "nodes.gpu1.port", "got an integer 65536"),
    (
        SSH + "max_sessions = 11\n",
        "nodes.gpu1.max_sessions",
        "got an integer 11 (expected an integer from 1 to 10)",
    ),
    (SSH + "max_sessions = 0\n", "nodes.gpu1.max_sessions", "got an integer 0"),
    (
        SSH + "login_timeout_s = 0\n",
        "nodes.gpu1.login_timeout_s",
        "got an integer 0 (expected a number of seconds > 0)",
    ),
    (SSH + "keepalive_s = -1.5\n", "nodes.gpu1.keepalive_s", "got a float -1.5"),
    (SSH + "connect_timeout_s = inf\n", "nodes.gpu1.connect_timeout_s", "got a float inf"),
    (SSH + "gpus = []\n", "nodes.gpu1.gpus", "got an empty array"),
    (SSH + "gpus = [0, -1]\n", "nodes.gpu1.gpus[2]", "got -1"),
    (SSH + "gpus = [1, 1]\n", "nodes.gpu1.gpus", "lists a GPU twice"),
    ("[settings]\npoll_interval_s = 0\n", "settings.poll_interval_s", "got an integer 0"),
    ("[settings]\nstall_timeout_s = nan\n", "settings.stall_timeout_s", "got a float nan"),
    (
        BENCH.replace("100", "0"),
        "benchmarks.b.dataset_size",
        "got an integer 0 (expected an integer >= 1)",
    ),
    (BENCH + "stall_timeout_s = 0\n", "benchmarks.b.stall_timeout_s", "got an integer 0"),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 0\n',
        "plan[1].samples",
        "got an integer 0 (expected an integer from 1 to 1000 "
        "(benchmark bench's dataset_size))",
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 1001\n',
        "plan[1].samples",
        "asks for 1001 samples but benchmark bench has only 1000",
    ),
    (
        MINIMAL + '[[plan]]\nkind = "sweep"\nnode = "a"\nbenchmark = "bench"\n'
        "samples = [10, -5]\n",
        "plan[1].samples[2]",
        "got an integer -5",
    ),
    (
        MINIMAL + '[[plan]]\nkind = "sweep"\nnode = "a"\nbenchmark = "bench"\nsamples = []\n',
        "plan[1].samples",
        "got an empty array",
    ),
    (
        MINIMAL + '[[plan]]\nkind = "sweep"\nnode = "a"\nbenchmark = "bench"\nsamples = 5\n',
        "plan[1].samples",
        "got an integer 5 (expected a non-empty array",
    ),
]


ENUM_VALUES = [
    (
        '[nodes.a]\ntransport = "sftp"\n',
        "nodes.a.transport",
        'got "sftp" (expected one of "local", "ssh", "slurm")',
    ),
    ('[nodes.a]\ntransport = "SSH"\n', "nodes.a.transport", 'did you mean "ssh"?'),
    (
        BENCH + 'scenario = "offline"\n',
        "benchmarks.b.scenario",
        'got "offline"; did you mean "Offline"? (expected one of "Offline", "Server", '
        '"SingleStream", "MultiStream")',
    ),
    (
        BENCH + 'mode = "perf"\n',
        "benchmarks.b.mode",
        'got "perf" (expected one of "performance", "accuracy")',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "runs"\nnode = "a"\nbenchmark = "bench"\nsamples = 1\n',
        "plan[1].kind",
        'got "runs"; did you mean "run"?',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "group"\nnodes = ["a", "b"]\nbenchmark = "bench"\n'
        'total_samples = 10\nsplit = "even"\n',
        "plan[1].split",
        'got "even" (expected one of "equal", "weighted", "auto")',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 1\n'
        'scenario = "Sever"\n',
        "plan[1].scenario",
        'did you mean "Server"?',
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[nodes."a b"]\n', 'nodes."a b"', 'node name "a b" is not safe'),
        ('[nodes."a..b"]\n', 'nodes."a..b"', 'node name "a..b" is not safe'),
        ('[nodes."../etc"]\n', 'nodes."../etc"', "is not safe"),
        ('[nodes."-x"]\n', "nodes.-x", 'node name "-x" is not safe'),
        ("[nodes." + "n" * 65 + "]\n", "nodes." + "n" * 65, "is not safe"),
        (
            '[benchmarks."a/b"]\ncommand = "x"\ndataset_size = 1\n',
            'benchmarks."a/b"',
            'benchmark name "a/b" is not safe',
        ),
        (
            MINIMAL + '[[plan]]\nkind = "run"\nname = "x/../y"\nnode = "a"\nbenchmark = "bench"\n'
            "samples = 1\n",
            "plan[1].name",
            'stage name "x/../y" is not safe',
        ),
        (
            MINIMAL + '[[plan]]\nkind = "run"\nname = "s"\nnode = "a"\nbenchmark = "bench"\n'
            'samples = 1\n[[plan]]\nkind = "run"\nname = "s"\nnode = "b"\nbenchmark = "bench"\n'
            "samples = 1\n",
            "plan[2].name",
            'stage name "s" is already used by plan[1]',
        ),
        (
            MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 1\n'
            '[[plan]]\nkind = "run"\nname = "run-1"\nnode = "b"\nbenchmark = "bench"\n'
            "samples = 1\n",
            "plan[2].name",
            'stage name "run-1" is already used by plan[1]',
        ),
    ],
)
def test_unsafe_and_duplicate_names(tmp_path: Path, text: str, key: str, message: str) -> None:
    err = _error(tmp_path, text, key)
    assert message in str(err)
    if "is not safe" in message:
        assert err.expected is not None and "no '..'" in err.expected


UNKNOWN_REFERENCES = [
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnodes = ["a", "bb"]\nbenchmark = "bench"\n'
        "samples = 1\n",
        "plan[1].nodes",
        'names no node "bb"; did you mean "b"?',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "z"\nbenchmark = "bench"\nsamples = 1\n',
        "plan[1].node",
        'names no node "z" (expected one of the [nodes.*] names: "a", "b")',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bnech"\nsamples = 1\n',
        "plan[1].benchmark",
        'names no benchmark "bnech"; did you mean "bench"?',
    ),
    (
        MINIMAL + '[settings]\nbaseline_node = "c"\n',
        "settings.baseline_node",
        'names no node "c"',
    ),
    (
        MINIMAL + '[settings]\nsubmission_round = "v4.1"\n',
        "settings.submission_round",
        'one of "v5.1", "v6.0"',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnodes = ["a", "a"]\nbenchmark = "bench"\n'
        "samples = 1\n",
        "plan[1].nodes",
        'lists node "a" twice',
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnode = "a"\nnodes = ["b"]\nbenchmark = "bench"\n'
        "samples = 1\n",
        "plan[1].node",
        "is given together with nodes",
    ),
    (
        MINIMAL + '[[plan]]\nkind = "run"\nnodes = []\nbenchmark = "bench"\nsamples = 1\n',
        "plan[1].nodes",
        "got an empty array",
    ),
]


# A wrong type or an out-of-range value: the message follows the key at once ("...: key: got
# ..."); an unknown enum value or name: the message is somewhere in the sentence.
BAD_VALUES = [
    *((text, key, f": {key}: {message}") for text, key, message in [*WRONG_TYPES, *OUT_OF_RANGE]),
    *ENUM_VALUES,
    *UNKNOWN_REFERENCES,
]


@pytest.mark.parametrize(("text", "key", "message"), BAD_VALUES)
def test_bad_values_name_their_key_and_what_they_got(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    err = _error(tmp_path, text, key)
    assert message in str(err)


@pytest.mark.parametrize(
    ("stage", "key", "message"),
    [
        (
            'kind = "group"\nnode = "a"\nbenchmark = "bench"\ntotal_samples = 10\n',
            "plan[1].node",
            "a group needs at least 2 nodes, got 1",
        ),
        (
            'kind = "group"\nnodes = ["a", "b", "c"]\nbenchmark = "bench"\ntotal_samples = 2\n',
            "plan[1].total_samples",
            "2 samples cannot give each of 3 nodes a shard "
            "(expected at least 3 (one sample per node))",
        ),
        (
            'kind = "group"\nnodes = ["a", "b"]\nbenchmark = "bench"\nsamples = 10\n',
            "plan[1].samples",
            '"samples" is not a key of a group stage (only of run, sweep, fleet, '
            'concurrency_sweep, compliance and qps_search stages); did you mean '
            '"total_samples"?',
        ),
        (
            'kind = "run"\nnode = "a"\nbenchmark = "bench"\ntotal_samples = 10\n',
            "plan[1].total_samples",
            'is not a key of a run stage (only of group stages); did you mean "samples"?',
        ),
        (
            'kind = "group"\nnodes = ["a", "b"]\nbenchmark = "noshards"\ntotal_samples = 10\n',
            "plan[1].benchmark",
            "benchmark noshards has supports_shards = false",
        ),
        ('knd = "run"\n', "plan[1].knd", 'did you mean "kind"?'),
    ],
)
def test_group_rules(tmp_path: Path, stage: str, key: str, message: str) -> None:
    text = (
        MINIMAL + '[nodes.c]\n[benchmarks.noshards]\ncommand = "x"\ndataset_size = 100\n'
        "supports_shards = false\n[[plan]]\n" + stage
    )
    err = _error(tmp_path, text, key)
    assert message in str(err)


def test_plan_must_be_an_array_of_tables(tmp_path: Path) -> None:
    err = _error(tmp_path, MINIMAL + '[plan]\nkind = "run"\n')
    assert err.key == "plan"
    assert "is a single table (expected an array of tables: write [[plan]] for each stage)" in (
        str(err)
    )


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        (
            "progress_pattern = '(unclosed'\n",
            "benchmarks.b.progress_pattern",
            "is not a valid regex: missing ), unterminated subpattern at position 0",
        ),
        (
            r"progress_pattern = '(?P<done>\d+)'" + "\n",
            "benchmarks.b.progress_pattern",
            "has no group named completed (expected a Python regex with a named group "
            r"(?P<completed>\d+)",
        ),
        (
            'log_dir = "{log_dir}/x"\n',
            "benchmarks.b.log_dir",
            "cannot use {log_dir} inside log_dir itself",
        ),
        ('cwd = "/opt/{node"\n', "benchmarks.b.cwd", "lone '{' at character 6"),
    ],
)
def test_benchmark_patterns_and_templates(
    tmp_path: Path, extra: str, key: str, message: str
) -> None:
    err = _error(tmp_path, BENCH + extra)
    assert err.key == key
    assert message in str(err)
    assert err.line == 4


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ('{ "1ABC" = "x" }', "nodes.a.env.1ABC"),
        ('{ "A-B" = "x" }', "nodes.a.env.A-B"),
        ('{ "A B" = "x" }', 'nodes.a.env."A B"'),
    ],
)
def test_env_names_must_be_shell_names(tmp_path: Path, env: str, key: str) -> None:
    err = _error(tmp_path, f"[nodes.a]\nenv = {env}\n")
    assert err.key == key
    assert "is not a valid shell variable name" in str(err)
    assert err.line == 2


def test_vars_cannot_redefine_builtins(tmp_path: Path) -> None:
    err = _error(tmp_path, "[nodes.a]\nvars = { samples = 5 }\n")
    assert err.key == "nodes.a.vars.samples"
    assert '"samples" is a built-in placeholder; a node cannot redefine it' in str(err)
    err = _error(tmp_path, '[nodes.a]\nvars = { "my-var" = 5 }\n')
    assert '"my-var" cannot be a placeholder name' in str(err)


def _placeholder_config(plan_nodes: str) -> str:
    return f"""
[nodes.slow]
vars = {{ speed = 19 }}
[nodes.fast]
[nodes.other]

[benchmarks.demo]
command = "run --speed {{speed}} --n {{samples}}"
dataset_size = 100

[[plan]]
kind = "run"
nodes = {plan_nodes}
benchmark = "demo"
samples = 10
"""


def test_unknown_placeholder_names_the_benchmark_key_and_the_nodes_lacking_it(
    tmp_path: Path,
) -> None:
    text = _placeholder_config('["slow", "fast", "other"]')
    err = _error(tmp_path, text)
    assert err.key == "benchmarks.demo.command"
    assert err.line == _line_of(text, "command =")
    assert (
        "unknown placeholder {speed}: not built in and not in the vars of nodes fast, other "
        "(the plan runs this benchmark there)" in str(err)
    )
    # Only the nodes the plan runs the benchmark on matter.
    assert load_config(_write(tmp_path, _placeholder_config('["slow"]'), "ok.toml"))


def test_unknown_placeholder_with_a_typo_suggests_the_builtin(tmp_path: Path) -> None:
    err = _error(
        tmp_path, '[nodes.a]\n[benchmarks.b]\ncommand = "run {sample}"\ndataset_size = 5\n'
    )
    assert err.key == "benchmarks.b.command"
    assert (
        "unknown placeholder {sample}: not built in and not in the vars of any node; did "
        'you mean "samples"?' in str(err)
    )
    err = _error(
        tmp_path,
        '[nodes.a]\n[benchmarks.b]\ncommand = "run"\ndataset_size = 5\n'
        'user_conf = "{model}.{scenario}.x = {qps}"\n',
    )
    assert err.key == "benchmarks.b.user_conf"
    assert "{qps}" in str(err)


def test_the_first_error_in_file_order_is_reported(tmp_path: Path) -> None:
    text = (
        "[settings]\npoll_interval_s = 0\n"  # first
        '[nodes.a]\nport = "x"\n'
        '[[plan]]\nkind = "nope"\n'
    )
    assert _error(tmp_path, text).key == "settings.poll_interval_s"
    assert _error(tmp_path, text.replace("= 0", "= 1")).key == "nodes.a.port"


def test_lines_ignore_lookalikes_inside_multiline_strings(tmp_path: Path) -> None:
    text = '''[benchmarks.b]
command = "x"
user_conf = """
[benchmarks.b]
dataset_size = 5
"""
dataset_size = -1
'''
    err = _error(tmp_path, text)
    assert err.key == "benchmarks.b.dataset_size"
    assert err.line == 7


def test_lines_in_the_second_plan_table(tmp_path: Path) -> None:
    text = MINIMAL + (
        '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 1\n\n'
        '[[plan]]\nkind = "run"\nnode = "a"\nbenchmark = "bench"\nsamples = 0\n'
    )
    err = _error(tmp_path, text)
    assert err.key == "plan[2].samples"
    assert err.line == len(text.splitlines())
    assert str(err).startswith(f"{err.file}:{err.line}: plan[2].samples: got an integer 0")


# --- warnings -----------------------------------------------------------------------------------


def test_warnings_name_the_node(tmp_path: Path) -> None:
    text = (
        "[settings]\nstall_timeout_s = 60\n"
        '[nodes.gpu9]\ntransport = "ssh"\nhost = "10.0.0.9"\nverify_host_key = false\n'
        '[nodes.here]\nport = 2222\nuser = "x"\n'
        '[benchmarks.b]\ncommand = "x"\ndataset_size = 5\nstall_timeout_s = 30\n'
    )
    warnings = config_warnings(load_config(_write(tmp_path, text)))
    assert len(warnings) == 3
    assert warnings[0].startswith("WARNING: node gpu9 does not verify its SSH host key")
    assert "10.0.0.9" in warnings[0]
    assert warnings[1] == "node here is local, so its port, user are ignored."
    assert warnings[2] == (
        "settings.stall_timeout_s = 60 overrides benchmarks.b.stall_timeout_s = 30."
    )
    assert config_warnings(load_config(_write(tmp_path, MINIMAL, "quiet.toml"))) == []
    same = text.replace("stall_timeout_s = 30", "stall_timeout_s = 60")
    assert len(config_warnings(load_config(_write(tmp_path, same, "same.toml")))) == 2


# --- the starter config -------------------------------------------------------------------------


def _uncomment_block(text: str, first_line: str) -> str:
    """Uncomment the commented block that starts with `first_line`, up to the next line that
    is not a comment."""
    lines = text.splitlines()
    start = lines.index(first_line)
    end = start
    while end < len(lines) and lines[end].startswith("#"):
        lines[end] = lines[end].removeprefix("#").removeprefix(" ")
        end += 1
    return "\n".join(lines) + "\n"


def test_starter_config_loads_and_its_commented_examples_are_valid(tmp_path: Path) -> None:
    text = starter_config_text(python="/usr/bin/python3")
    config = load_config(_write(tmp_path, text))
    assert list(config.nodes) == ["local"]
    local = config.nodes["local"]
    assert local.transport == "local" and local.simulated and local.python == "/usr/bin/python3"
    assert [s.kind for s in config.plan.stages] == ["run", "sweep"]
    assert config_warnings(config) == []
    assert "# [nodes.gpu1]" in text and '# transport = "ssh"' in text
    full = _uncomment_block(_uncomment_block(text, "# [nodes.gpu1]"), "# [[plan]]")
    config = load_config(_write(tmp_path, full, "full.toml"))
    assert config.nodes["gpu1"].transport == "ssh" and config.nodes["gpu1"].host
    assert config.plan.stages[-1].group is not None
    assert config.plan.stages[-1].group.nodes == ("local", "gpu1")


def test_write_starter_config_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "mlconsole.toml"
    assert write_starter_config(target) == target
    assert load_config(target).nodes["local"].python  # the running interpreter by default
    target.write_text("# mine\n")
    with pytest.raises(ConfigFileExists) as info:
        write_starter_config(target)
    assert str(info.value) == (
        f"{target}: already exists; not overwriting it (pass --force to replace it)"
    )
    assert target.read_text() == "# mine\n"
    write_starter_config(target, force=True)
    assert target.read_text().startswith("# mlconsole config")
    assert [p.name for p in tmp_path.iterdir()] == ["mlconsole.toml"]  # no temp file left
    with pytest.raises(ConfigError, match="does not exist"):
        write_starter_config(tmp_path / "no" / "such" / "dir.toml")


def test_load_config_accepts_str_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, MINIMAL, "rel.toml")
    monkeypatch.chdir(tmp_path)
    assert load_config("rel.toml").source == "rel.toml"
    assert os.path.exists("rel.toml")
    assert parse_config(MINIMAL).source == "<config>"


def test_the_reference_example_is_a_valid_config(tmp_path: Path) -> None:
    """docs/config-reference.md ends with a complete example; it must load as documented."""
    doc = REPO_ROOT / "docs" / "config-reference.md"
    example = doc.read_text().split("## A complete example", 1)[1]
    text = example.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(_write(tmp_path, text))
    assert [s.kind for s in config.plan.stages] == ["run", "sweep", "group"]
    assert [r.run_id for r in config.plan.stages[0].runs] == ["s1-slow-100", "s1-fast-100"]
    assert config.plan.stages[2].group is not None
    assert config.plan.stages[2].group.group_id == "s3-pair"


def test_the_reference_lists_every_key() -> None:
    """Every key the reader accepts is documented in docs/config-reference.md."""
    from engine.config.keys import (
        BENCHMARK_KEYS,
        NODE_KEYS,
        SERVICE_KEYS,
        SETTINGS_KEYS,
        TOP_KEYS,
    )
    from engine.config.plan import ALL_STAGE_KEYS

    doc = (REPO_ROOT / "docs" / "config-reference.md").read_text()
    keys = {*TOP_KEYS, *SETTINGS_KEYS, *NODE_KEYS, *SERVICE_KEYS, *BENCHMARK_KEYS}
    keys |= set(ALL_STAGE_KEYS)
    missing = sorted(k for k in keys if f"`{k}`" not in doc and f"[{k}" not in doc)
    assert missing == []


def test_the_fleet_example_loads_as_its_comments_say() -> None:
    config = load_config(REPO_ROOT / "configs" / "fleet.example.toml")
    vllm = config.services["vllm"]
    assert vllm.port == 8000 and vllm.forward == "auto" and vllm.model == "llama3.1-8b"
    kinds = [s.kind for s in config.plan.stages]
    assert kinds == ["fleet", "fleet", "concurrency_sweep"]
    sweep = config.plan.stages[2].fleet
    assert sweep is not None and sweep.concurrency == (1, 4, 16, 64, 256)
    assert config.benchmarks["llama31-8b"].command == ""  # the fleet is the SUT
    from engine.run.templates import render_service

    cmd = render_service(config.nodes["gpu2"], vllm, "/home/bench/mlconsole/services/vllm-8000")
    assert "--tensor-parallel-size 2" in cmd and "--port 8000" in cmd


def test_fleet_stage_errors_name_the_key() -> None:
    base = (
        '[nodes.a]\n[services.s]\nport = 1\ncommand = "serve {port}"\n'
        "[benchmarks.b]\ndataset_size = 10\n{bench}\n[[plan]]\n{plan}\n"
    )
    cases = [
        (
            'dataset = "synthetic"',
            'kind = "fleet"\nnode = "a"\nservice = "x"\nbenchmark = "b"\nsamples = 1',
            'names no service "x"',
        ),
        (
            "",
            'kind = "fleet"\nnode = "a"\nservice = "s"\nbenchmark = "b"\nsamples = 1',
            "has no dataset",
        ),
        (
            'dataset = "synthetic"',
            'kind = "fleet"\nnode = "a"\nservice = "s"\nbenchmark = "b"\nsamples = 1\n'
            'scenario = "Server"',
            "target_qps: is missing",
        ),
        (
            'dataset = "synthetic"',
            'kind = "concurrency_sweep"\nnode = "a"\nservice = "s"\nbenchmark = "b"\nsamples = 1',
            "concurrency: is missing",
        ),
        (
            'dataset = "synthetic"',
            'kind = "fleet"\nnode = "a"\nservice = "s"\nbenchmark = "b"\nsamples = 1\n'
            'scenario = "SingleStream"',
            "a fleet run drives Offline or Server",
        ),
    ]
    for bench, plan, fragment in cases:
        with pytest.raises(ConfigError) as info:
            parse_config(base.replace("{bench}", bench).replace("{plan}", plan))
        assert fragment in str(info.value), str(info.value)
    # A service placeholder the node lacks is named with its key.
    with pytest.raises(ConfigError, match=r"services.s.command: unknown placeholder \{tp\}"):
        parse_config(
            base.replace("{port}", "{port} {tp}")
            .replace("{bench}", 'dataset = "synthetic"')
            .replace(
                "{plan}", 'kind = "fleet"\nnode = "a"\nservice = "s"\nbenchmark = "b"\nsamples = 1'
            )
        )


def test_the_submission_round_is_a_setting(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, MINIMAL + '[settings]\nsubmission_round = "v5.1"\n'))
    assert cfg.settings.submission_round == "v5.1"
    assert load_config(_write(tmp_path, MINIMAL, "d.toml")).settings.submission_round is None


@pytest.mark.parametrize("value", ["1.5", "1", "-0.1", '"5%"', "true", "nan"])
def test_the_regression_margin_is_a_fraction_below_one(tmp_path: Path, value: str) -> None:
    err = _error(tmp_path, MINIMAL + f"[settings]\nregression_margin = {value}\n")
    assert err.key == "settings.regression_margin"
    assert "expected a fraction from 0 to below 1 (0.05 is 5 %)" in str(err)
    ok = load_config(_write(tmp_path, MINIMAL + "[settings]\nregression_margin = 0.1\n", "m.toml"))
    assert ok.settings.regression_margin == 0.1
    assert load_config(_write(tmp_path, MINIMAL, "d.toml")).settings.regression_margin == 0.05
