"""A benchmark's `log_dir` with a `*` in it: LoadGen's logs land in a directory whose name the
harness makes up as it runs (NVIDIA's `<LOG_DIR>/<system id>/<benchmark>/<scenario>/`,
MLCFlow's `<results_dir>/<folder>/<SUT name>/<model>/<scenario>/performance/run_1`).

The pattern is matched on the node with the node's Python `glob` (one short command, repeated
each poll until a directory matches); the newest matching directory wins.
"""

from __future__ import annotations

from engine.errors import MlconsoleError
from engine.transport.base import Transport

_MATCH = (
    "import glob, os, sys\n"
    "found = [p for p in glob.glob(sys.argv[1]) if os.path.isdir(p)]\n"
    "found.sort(key=os.path.getmtime)\n"
    "print(found[-1] if found else '')\n"
)


def is_pattern(log_dir: str) -> bool:
    return any(c in log_dir for c in "*?[")


async def match_log_dir(transport: Transport, pattern: str) -> str | None:
    """The newest directory on the node that `pattern` matches, or None (none yet, or the
    node's Python could not be run)."""
    try:
        result = await transport.run([transport.node.python, "-c", _MATCH, pattern], timeout=15.0)
    except (MlconsoleError, OSError, TimeoutError):
        return None
    found = result.stdout.strip()
    return found or None if result.exit_status == 0 else None
