"""`python -m engine.harness` runs the demo harness, the only bundled one."""

from engine.harness.demo import run

run()
