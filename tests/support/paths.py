"""Where the repository's test data lives, for tests, bench/ and docs/ alike."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
REFERENCE = DATA / "reference"
DOUBLES_DIR = REPO_ROOT / "tests" / "support" / "doubles"
RUN_LOADGEN = REPO_ROOT / "tests" / "support" / "run_loadgen.py"
