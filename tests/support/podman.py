"""A podman that runs containers on this machine, for the container tests.

No image registry is reachable from the test machines, so the container's image is a rootfs
directory (`podman run --rootfs DIR`): a few mount points and links, with this machine's
/usr, Python and the repository mounted read-only, so the real demo harness and LoadGen run
inside a real container. Everything podman keeps (its storage, state and events) lives in a
temp dir of the session, configured through CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, which
the tests put in the node's `env` (mlconsole's own podman commands then see the same podman).

What this sandbox needs (a Firecracker VM with hybrid cgroups, root without CAP_SYS_RESOURCE):
runc, as crun refuses hybrid cgroups; a private cgroup namespace; no network; ulimits below
the host's (podman's defaults raise them, which needs CAP_SYS_RESOURCE); vfs storage; events
to a file (no journald). `.ci/ensure-podman` installs podman and runc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO_ROOT

CONTAINERS_CONF = """\
[containers]
cgroupns = "private"
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{base}/tmp"
"""
STORAGE_CONF = """\
[storage]
driver = "vfs"
graphroot = "{base}/storage"
runroot = "{base}/run"
"""


@dataclass(frozen=True)
class PodmanLab:
    base: Path
    rootfs: Path
    env: dict[str, str]  # CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: the node's env
    mounts: tuple[str, ...]  # what the harness needs from this machine, read-only

    def podman(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *args], env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip

    def container_toml(self, owner: str, *options: str) -> list[str]:
        """`[<owner>.container]` running this lab's rootfs with podman (`--rootfs` last: the
        image is then a directory)."""
        from tests.support.config_writer import toml_str

        return [
            f"[{owner}.container]",
            'runtime = "podman"',
            f"image = {toml_str(self.rootfs)}",
            "options = [" + ", ".join(toml_str(o) for o in (*options, "--rootfs")) + "]",
            "mounts = [" + ", ".join(toml_str(m) for m in self.mounts) + "]",
            "",
        ]

    def containers(self) -> list[str]:
        """Names of every container this podman knows, running or not (`podman ps -a`)."""
        res = self.podman("ps", "-a", "--format", "{{.Names}}")
        assert res.returncode == 0, res.stderr
        return res.stdout.split()


def make_lab(base: Path) -> PodmanLab:
    base.mkdir(parents=True, exist_ok=True)
    (base / "containers.conf").write_text(CONTAINERS_CONF.format(base=base))
    (base / "storage.conf").write_text(STORAGE_CONF.format(base=base))
    rootfs = base / "rootfs"
    for d in ("usr", "etc", "tmp", "proc", "sys", "dev", "run", "root", "var/tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if not (rootfs / link).is_symlink() and Path("/" + link).is_symlink():
            (rootfs / link).symlink_to(f"usr/{link}")
    python_dirs = dict.fromkeys([sys.base_prefix, sys.prefix, str(REPO_ROOT)])
    mounts = ("/usr:/usr:ro", *(f"{d}:{d}:ro" for d in python_dirs if not d.startswith("/usr")))
    env = {
        "CONTAINERS_CONF": str(base / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
    }
    return PodmanLab(base, rootfs, env, mounts)


def usable(lab: PodmanLab) -> str | None:
    """None when a container runs here, else why not (podman's own words)."""
    if shutil.which("podman") is None:
        return "podman is not installed (.ci/ensure-podman installs it as root)"
    res = lab.podman("run", "--rm", *(x for m in lab.mounts for x in ("-v", m)),
                     "--rootfs", str(lab.rootfs), "true", timeout=60)  # fmt: skip
    if res.returncode != 0:
        return f"podman cannot run a container here: {res.stderr.strip()[-500:]}"
    return None
