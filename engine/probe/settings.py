"""Runs the settings probe (`engine/probe/program.py`) on a node and reads its answer.

The probe runs under the node's Python with the node's LoadGen, so the settings it reports
are the ones the node's LoadGen (and the mlperf.conf built into it) will use: the controller's
LoadGen may be another version. One call sends every request for a node in one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import MlconsoleError
from engine.transport.base import Transport

PROBE_TIMEOUT_S = 60.0
_PROGRAM = Path(__file__).with_name("program.py")


@dataclass(frozen=True)
class ProbeRequest:
    """One run's LoadGen set-up, as a reference harness would make it: the scenario and mode,
    the model name its user.conf keys use, a QSL of `total` samples (`performance` of them
    loaded; the references load all) and the user.conf text (None: no FromConfig call)."""

    id: str
    scenario: str
    mode: str
    model: str
    total: int
    user_conf: str | None
    performance: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "mode": self.mode,
            "model": self.model,
            "total": self.total,
            "performance": self.performance or self.total,
            "user_conf": self.user_conf,
        }


@dataclass(frozen=True)
class ProbedSettings:
    """What the node's LoadGen logged at the start of a test for one request.

    `settings` are the TestSettings attributes after FromConfig (what the harness hands to
    StartTest), `defaults` those of a fresh TestSettings; `detail` holds the first value of
    each `requested_*`, `effective_*`, `generated_*` and `qsl_reported_*` key of the detail
    log. `error` says why there is nothing (the probe could not run).
    """

    request: ProbeRequest
    node: str
    error: str | None = None
    fromconfig_rc: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[tuple[str, Any], ...] = ()
    warnings: tuple[tuple[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None and "generated_query_count" in self.detail

    @property
    def loadgen_version(self) -> str | None:
        version = self.detail.get("loadgen_version")
        return str(version) if version is not None else None

    def number(self, key: str) -> float | None:
        value = self.detail.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value

    @property
    def where(self) -> str:
        """`gpu1 (LoadGen 6.0.17 @ d6147c7eb7)`: whose LoadGen answered."""
        version = self.loadgen_version
        return f"{self.node} (LoadGen {version})" if version else self.node


def program_source() -> str:
    """The probe program's text, sent to the node with `python -c`."""
    return _PROGRAM.read_text(encoding="utf-8")


def parse_answers(node: str, requests: Sequence[ProbeRequest], stdout: str) -> list[ProbedSettings]:
    """One ProbedSettings per request, in request order; a request the output does not answer
    gets an error saying so."""
    answers: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            answers[obj["id"]] = obj
    out = []
    for req in requests:
        obj = answers.get(req.id)
        if obj is None:
            out.append(ProbedSettings(req, node, error="the probe gave no answer for this run"))
            continue
        out.append(
            ProbedSettings(
                req,
                node,
                error=obj.get("error"),
                fromconfig_rc=obj.get("fromconfig_rc"),
                settings=obj.get("settings") or {},
                defaults=obj.get("defaults") or {},
                detail=obj.get("detail") or {},
                errors=tuple(tuple(e) for e in obj.get("errors") or ()),  # type: ignore[misc]
                warnings=tuple(tuple(w) for w in obj.get("warnings") or ()),  # type: ignore[misc]
            )
        )
    return out


async def probe_settings(
    transport: Transport, requests: Sequence[ProbeRequest]
) -> list[ProbedSettings]:
    """Ask the node's LoadGen about every request at once (one command on the node).
    Never raises for the node's faults: each answer carries the error instead."""
    if not requests:
        return []
    node = transport.node
    payload = json.dumps([r.as_json() for r in requests])
    try:
        result = await transport.run(
            [node.python, "-c", program_source(), payload], timeout=PROBE_TIMEOUT_S
        )
    except (MlconsoleError, OSError, TimeoutError) as exc:
        reason = f"the settings probe could not run on {node.name}: {exc}"
        return [ProbedSettings(r, node.name, error=reason) for r in requests]
    if result.exit_status != 0 and not result.stdout.strip():
        last = result.stderr.strip().splitlines()[-1:] or ["no output"]
        reason = (
            f"the settings probe failed on {node.name} with {node.python} "
            f"(exit {result.exit_status}): {last[0][:200]}"
        )
        return [ProbedSettings(r, node.name, error=reason) for r in requests]
    return parse_answers(node.name, requests, result.stdout)
