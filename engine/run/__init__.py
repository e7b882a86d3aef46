"""Running a plan: the orchestrator (stages, per-node queues, cancel, re-attach), the runner
(one run from launch to summary), command templates, and preflight probes of nodes."""
