"""`[benchmarks.NAME.container]` and `[services.NAME.container]`: the container a harness or
a server runs in, read into a `ContainerSpec`.

The container belongs to what runs (a benchmark's harness, a service's server): its image is
the software, the same on every node. The runtime is checked against the nodes that run it
once the plan is known (`check_container_nodes`): enroot runs through Slurm's pyxis plugin,
so only on Slurm nodes. Whether the runtime answers on a node is preflight's question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from engine.config.keys import CONTAINER_KEYS
from engine.config.reader import Section, Source
from engine.model import ContainerSpec, NodeSpec

RUNTIMES = ("docker", "podman", "enroot")
_GPUS = re.compile(r"^\d+(,\d+)*$")
IMAGE_EXPECTED = (
    "the image the container runs (docker/podman: a reference, or a rootfs dir with "
    'options = ["--rootfs"]; enroot: a pyxis image, e.g. "nvcr.io#nvidia/pytorch:24.05-py3")'
)


def container_spec(sec: Section) -> ContainerSpec | None:
    """The table's container, None when the table is absent."""
    table = sec.table("container", expected="a table (runtime, image, gpus, mounts, options)")
    if table is None:
        return None
    where = "[" + ".".join(map(str, table.path)) + "]"
    table.check_keys(CONTAINER_KEYS, f"a container table ({where})")
    runtime = table.word("runtime", RUNTIMES, None)
    if runtime is None:
        raise table.error("runtime", "is missing", "one of docker, podman, enroot")
    image = table.string("image", None, expected=IMAGE_EXPECTED)
    if image is None:
        raise table.error("image", "is missing", IMAGE_EXPECTED)
    return ContainerSpec(
        runtime=runtime,
        image=image,
        gpus=_gpus(table),
        mounts=_mounts(table),
        options=_options(table),
    )


def _gpus(sec: Section) -> str | None:
    value = sec.data.get("gpus")
    expected = '"all", device indexes ("0,1") or an array of them ([0, 1])'
    if value is None:
        return None
    if isinstance(value, list) and value and all(
        isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in value
    ):
        return ",".join(str(g) for g in value)
    if isinstance(value, str) and (value == "all" or _GPUS.match(value.replace(" ", ""))):
        return value.replace(" ", "")
    raise sec.error("gpus", f"got {value!r}", expected)


def _mounts(sec: Section) -> tuple[str, ...]:
    value = sec.data.get("mounts", [])
    expected = 'an array of "host_path:container_path[:options]", e.g. "/data:/data:ro"'
    if not isinstance(value, list):
        raise sec.error("mounts", f"got {value!r}", expected)
    for i, m in enumerate(value, start=1):
        parts = m.split(":") if isinstance(m, str) else []
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise sec.source.error((*sec.at("mounts"), i), f"got {m!r}", expected)
    return tuple(value)


def _options(sec: Section) -> tuple[str, ...]:
    value = sec.data.get("options", [])
    ok = isinstance(value, list) and all(isinstance(o, str) and o for o in value)
    if not ok or (value and not value[0].startswith("-")):
        raise sec.error(
            "options", f"got {value!r}",
            'an array of the runtime\'s flags, one argument each ("--shm-size=16g", "--ipc=host")',
        )  # fmt: skip
    return tuple(value)


def check_container_nodes(
    source: Source,
    nodes: Mapping[str, NodeSpec],
    users: Mapping[tuple[str, str], ContainerSpec | None],
    node_lists: Mapping[tuple[str, str], Sequence[str]],
) -> None:
    """enroot containers run as pyxis steps (`srun --container-image`): a plan that puts one
    on a node that is not a Slurm node is a config error, naming the container's table.
    `users` maps (table, name) to its container, `node_lists` (table, name) to the nodes
    the plan runs it on."""
    for (table, name), spec in users.items():
        if spec is None or spec.runtime != "enroot":
            continue
        for node in node_lists.get((table, name), ()):
            if node in nodes and nodes[node].transport != "slurm":
                raise source.error(
                    (table, name, "container", "runtime"),
                    f'is "enroot", which runs through Slurm\'s pyxis (srun --container-image), '
                    f'but the plan runs it on node "{node}" (transport '
                    f'"{nodes[node].transport}")',
                    'a Slurm node, or runtime = "docker" / "podman"',
                )
