"""`[nodes.NAME.slurm]`: where a Slurm node's jobs go, read into a `SlurmSpec`.

Each key is one sbatch option; values are checked here only for their shape (Slurm decides
whether a partition or GRES exists, and says so at submit or in `mlconsole check`).
"""

from __future__ import annotations

import re

from engine.config.keys import SLURM_KEYS
from engine.config.reader import Section
from engine.model import SlurmSpec

# Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
_TIME = re.compile(r"^(\d+-)?\d+(:\d+){0,2}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:,\-=+*()|&\[\]]+$")


def slurm_spec(node: Section, transport: str) -> SlurmSpec | None:
    """The node's Slurm table; a Slurm node without one submits to the default partition.
    A `slurm` table on another transport is refused (it would be ignored)."""
    sec = node.table("slurm", expected="a table of sbatch options")
    if transport != "slurm":
        if sec is not None:
            raise node.error("slurm", "only Slurm nodes take a slurm table", 'transport = "slurm"')
        return None
    if sec is None:
        return SlurmSpec()
    sec.check_keys(SLURM_KEYS, f"a Slurm table ([{'.'.join(map(str, sec.path))}])")
    d = SlurmSpec()
    values = {}
    for key in ("partition", "account", "qos", "gres", "constraint"):
        value = sec.string(key, None)
        if value is not None and not _NAME.match(value):
            raise sec.error(key, f'"{value}" is not a Slurm name', "letters, digits, _ . : , -")
        values[key] = value
    time_limit = sec.data.get("time_limit")
    if isinstance(time_limit, int) and not isinstance(time_limit, bool):
        time_limit = str(time_limit)  # minutes, as sbatch reads a bare number
    if time_limit is not None and (not isinstance(time_limit, str) or not _TIME.match(time_limit)):
        raise sec.error(
            "time_limit",
            f"got {time_limit!r}",
            'minutes or Slurm\'s [D-]HH:MM:SS ("30", "1:00:00", "1-00:00:00")',
        )
    options = sec.data.get("sbatch_options", [])
    if not isinstance(options, list) or not all(
        isinstance(o, str) and o.startswith("-") for o in options
    ):
        raise sec.error(
            "sbatch_options", f"got {options!r}", 'an array of sbatch flags ("--exclusive")'
        )
    return SlurmSpec(
        **values,
        time_limit=time_limit,
        nodes=sec.integer("nodes", d.nodes, low=1),
        sbatch_options=tuple(options),
    )
