"""The starter config `mlconsole init` writes: one local demo node, ready to run.

The TOML itself is written by tomli-w from plain data (so it is always valid TOML and always
matches what `load_config` accepts); the comments are added around it, including an SSH node
example that stays commented out until the user fills in a real host.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from engine.config.snapshot import toml_text
from engine.errors import ConfigError
from engine.harness.demo_facts import DEMO_DATASET_SIZE, PROGRESS_PATTERN

DEMO_COMMAND = (
    "{python} -m engine.harness.demo --scenario {scenario} --mode {mode}"
    " --total-sample-count {samples} --shard-start {shard_start} --output-dir {output_dir}"
    " --user-conf {user_conf} --model {model} --speed {speed}"
)


class ConfigFileExists(ConfigError):
    """`mlconsole init` would overwrite a config the user already has."""


def _dump(data: dict[str, Any]) -> str:
    return toml_text(data)


def _commented(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def starter_config_text(python: str | None = None) -> str:
    """A commented config that `load_config` accepts.

    `python` is the interpreter the local node runs the demo harness with; by default the one
    running mlconsole, because that is where `engine.harness.demo` and LoadGen are installed.
    """
    settings = {"settings": {"results_dir": "results", "reports_dir": "reports", "theme": "dark"}}
    local = {
        "nodes": {
            "local": {
                "transport": "local",
                "workdir": ".mlconsole/nodes/local",
                "python": python or sys.executable,
                "vars": {"speed": 40},
                "simulated": True,
            }
        }
    }
    ssh = {
        "nodes": {
            "gpu1": {
                "transport": "ssh",
                "host": "gpu1.example.org",
                "user": "bench",
                "identity_file": "~/.ssh/id_ed25519",
                "workdir": "mlconsole",
                "python": "python3",
                "gpus": [0],
                "env": {"OMP_NUM_THREADS": "8"},
                "vars": {"speed": 120},
            }
        }
    }
    benchmarks = {
        "benchmarks": {
            "demo": {
                "command": DEMO_COMMAND,
                "dataset_size": DEMO_DATASET_SIZE,
                "scenario": "Offline",
                "mode": "performance",
                "model": "demo",
                "progress_pattern": PROGRESS_PATTERN,
                "simulated": True,
            }
        }
    }
    smoke = {
        "plan": [
            {
                "kind": "run",
                "name": "smoke",
                "nodes": ["local"],
                "benchmark": "demo",
                "samples": 100,
            },
            {
                "kind": "sweep",
                "name": "sizes",
                "nodes": ["local"],
                "benchmark": "demo",
                "samples": [50, 100, 200],
            },
        ]
    }
    group = {
        "plan": [
            {
                "kind": "group",
                "name": "pair",
                "nodes": ["local", "gpu1"],
                "benchmark": "demo",
                "total_samples": 400,
                "split": "auto",
            }
        ]
    }
    return (
        "# mlconsole config, written by `mlconsole init`.\n"
        "# Every key, its type and default: docs/config-reference.md.\n"
        "# Check the nodes: `mlconsole check FILE`. Run the plan: `mlconsole FILE` (the console)\n"
        "# or `mlconsole --batch FILE` (headless).\n"
        "\n"
        "# Where results and reports go: relative to the directory you start mlconsole in.\n"
        + _dump(settings)
        + "\n"
        "# A node on this machine. Its speed is SIMULATED: the demo harness runs the real\n"
        "# LoadGen against a pretend GPU that completes `speed` samples per second.\n"
        "# `python` is the interpreter that has mlconsole and mlcommons-loadgen installed.\n"
        + _dump(local)
        + "\n"
        "# A GPU node over SSH: uncomment, set host/user/identity_file, then `mlconsole check`.\n"
        "# Its host key must already be in ~/.ssh/known_hosts (ssh to it once by hand).\n"
        + _commented(_dump(ssh))
        + "\n"
        "# How to drive the harness. {placeholders} are filled per run, each value quoted as\n"
        "# one shell word; {speed} comes from each node's `vars`. A user.conf for LoadGen goes\n"
        '# in user_conf = """...""" (written into the run dir; {user_conf} is its path).\n'
        + _dump(benchmarks)
        + "\n"
        "# The plan: stages run in order. Runs on different nodes in one stage go at the same\n"
        "# time; one node's runs go one after another.\n" + _dump(smoke) + "\n"
        "# A parallel group (needs two nodes): one shard per node, all started together,\n"
        "# shards sized by each node's measured throughput once there is one.\n"
        + _commented(_dump(group))
    )


def write_starter_config(path: str | Path, force: bool = False, text: str | None = None) -> Path:
    """Write the starter config (or `text`, e.g. a preset's config) to `path` and return it.

    Refuses (ConfigFileExists) to replace an existing file unless `force`; the file appears
    whole or not at all.
    """
    target = Path(path)
    if target.exists() and not force:
        raise ConfigFileExists(
            "already exists; not overwriting it (pass --force to replace it)",
            file=str(target),
        )
    if target.exists() and not target.is_file():
        raise ConfigError("exists and is not a file", file=str(target))
    if not target.parent.is_dir():
        raise ConfigError(
            f"cannot write the config: directory {target.parent} does not exist",
            file=str(target),
        )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text if text is not None else starter_config_text(), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"cannot write the config: {err.strerror or err}", file=str(target)
        ) from None
    return target
