"""Sentences about a config that loaded: what the user should know before a run (an SSH node
that does not check its host key, keys a local node ignores, a setting that overrides a
benchmark's). Apart from `load`, because a valid config is never refused for them.
`check_controller_files` is the one refusal here: a file the config names on this machine that
is not there (a config is valid text anywhere; the commands that use it refuse it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.config.keys import SSH_ONLY_KEYS
from engine.config.reader import Source
from engine.model import Config


def _here(transport: str) -> str:
    return "local" if transport == "local" else "a Slurm node without a login host"


def config_warnings(config: Config) -> list[str]:
    """Sentences about a valid config that the user should see (shown before a run)."""
    out: list[str] = []
    raw_nodes = _raw_table(config, "nodes")
    for name, node in config.nodes.items():
        if node.transport == "ssh" and not node.verify_host_key:
            out.append(
                f"WARNING: node {name} does not verify its SSH host key "
                "(verify_host_key = false): anyone on the network path can pose as "
                f"{node.host} and see everything mlconsole sends it. Add the key to "
                "known_hosts and remove that line."
            )
        if node.transport == "local" or (node.transport == "slurm" and not node.host):
            ignored = [k for k in SSH_ONLY_KEYS if k in raw_nodes.get(name, {})]
            if ignored:
                out.append(
                    f"node {name} is {_here(node.transport)}, so its {', '.join(ignored)} "
                    f"{'is' if len(ignored) == 1 else 'are'} ignored."
                )
    if config.settings.stall_timeout_s is not None:
        raw_benchmarks = _raw_table(config, "benchmarks")
        for name, bench in config.benchmarks.items():
            overridden = bench.stall_timeout_s != config.settings.stall_timeout_s
            if overridden and "stall_timeout_s" in raw_benchmarks.get(name, {}):
                out.append(
                    f"settings.stall_timeout_s = {config.settings.stall_timeout_s:g} overrides "
                    f"benchmarks.{name}.stall_timeout_s = {bench.stall_timeout_s:g}."
                )
    return out


def _raw_table(config: Config, key: str) -> Mapping[str, Any]:
    """What the file wrote under `key` (to tell a default from a value written out)."""
    value = config.raw.get(key)
    return value if isinstance(value, Mapping) else {}


def check_controller_files(config: Config) -> None:
    """Raise ConfigError for a file the config names on this machine that is not there (an
    SSH node's identity_file). Not part of `load_config`: the examples name keys of their own
    machines; check, --batch and attach call this before anything starts."""
    try:
        text = Path(config.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    source = Source(config.source, text)
    for name, node in config.nodes.items():
        over_ssh = node.transport == "ssh" or (node.transport == "slurm" and node.host)
        if not over_ssh or not node.identity_file:
            continue
        path = Path(os.path.expanduser(node.identity_file))
        if not path.is_file():
            raise source.error(
                ("nodes", name, "identity_file"),
                f"{path} " + ("is not a file" if path.exists() else "does not exist"),
                "the path of a private key file on this machine",
            )
