"""What LoadGen will really run, found before launch, for every run whose harness takes its
settings from mlconsole's user.conf (`loadgen_settings = "user_conf"`).

A reference harness calls `FromConfig(user.conf, model, scenario)`, which loads LoadGen's
built-in mlperf.conf first: a "100-sample" llama3.1-8b Offline run then issues 13,400
samples (min_query_count 13368, padded by equal-issue mode). Nothing in the command line says
so; only LoadGen knows. So the resolver asks the node's own LoadGen (engine/probe), with the
run's rendered user.conf, and publishes the answer as `RunSettingsResolved` before the run
starts: the count, why, the ETA at the node's measured rate, and the user.conf lines that make
the request hold, checked by a second probe. With `exact_samples = true` those lines go into
the run's user.conf (and the second probe is the count it will run).

Probes are batched: one command per node per round, at most two rounds (as asked, then with
the lines), for the whole plan at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine import figures
from engine.events import EventBus, RunSettingsResolved
from engine.model import Benchmark, Config, RunSpec
from engine.probe.settings import ProbedSettings, ProbeRequest, probe_settings
from engine.probe.sizing import RunSize, exact_lines, run_size, with_lines
from engine.run.templates import TemplateError, render_template, run_values
from engine.transport.base import Transport

# (rate in samples/s, where it was measured) or (None, None) when nothing was measured yet.
Measured = Callable[[RunSpec], tuple[float | None, str | None]]
TransportFor = Callable[[str], Awaitable[Transport]]


@dataclass(frozen=True)
class Resolution:
    """A run's LoadGen settings as resolved: the user.conf text it writes (`user_conf`, with
    the exact-samples lines when they were applied) and what LoadGen will issue with it."""

    run_id: str
    node: str
    requested: int
    user_conf: str | None
    size: RunSize | None = None
    fix_lines: tuple[str, ...] = ()
    fix_size: RunSize | None = None  # what the fix lines give, per the second probe
    exact_applied: bool = False
    where: str = ""
    error: str | None = None


def probe_user_conf(config: Config, spec: RunSpec, output_dir: str = "<run dir>") -> str | None:
    """The run's user.conf text rendered for a probe: node-side run paths are not known
    before launch, so they read as `output_dir`; a text that uses them is probed again at
    launch with the real paths. None when the benchmark has no user_conf."""
    bench = config.benchmarks[spec.benchmark]
    if bench.user_conf is None:
        return ""
    node = config.nodes[spec.node]
    values = run_values(
        node, bench, spec, output_dir=output_dir, user_conf_path=f"{output_dir}/user.conf"
    )
    values["log_dir"] = output_dir
    try:
        return render_template(bench.user_conf, values, quote=False)
    except TemplateError:
        return None


def _key(spec: RunSpec, bench: Benchmark, text: str | None) -> tuple[object, ...]:
    return (spec.node, bench.model, str(spec.scenario), str(spec.mode), spec.samples, text)


class SettingsResolver:
    """Resolves runs' LoadGen settings, caches them by what decides them, and publishes one
    `RunSettingsResolved` per run id."""

    def __init__(
        self, config: Config, bus: EventBus, transport: TransportFor, measured: Measured
    ) -> None:
        self.config = config
        self.bus = bus
        self.transport = transport
        self.measured = measured
        self._cache: dict[tuple[object, ...], Resolution] = {}
        self._published: dict[str, tuple[object, ...]] = {}

    def applies(self, spec: RunSpec) -> bool:
        return self.config.benchmarks[spec.benchmark].loadgen_settings == "user_conf"

    async def resolve(self, specs: Iterable[RunSpec]) -> dict[str, Resolution]:
        """Resolve every run in `specs` that the resolver applies to (all nodes at once)."""
        todo = [(s, probe_user_conf(self.config, s)) for s in specs if self.applies(s)]
        return await self._resolve(todo)

    async def for_run(self, spec: RunSpec, user_conf: str | None) -> Resolution | None:
        """The resolution for a run about to launch with this rendered user.conf text (probed
        now when the plan-start probe did not cover exactly this text). None when the
        benchmark's harness decides its settings itself."""
        if not self.applies(spec):
            return None
        return (await self._resolve([(spec, user_conf)]))[spec.run_id]

    async def _resolve(self, todo: Sequence[tuple[RunSpec, str | None]]) -> dict[str, Resolution]:
        pending: dict[tuple[object, ...], tuple[RunSpec, str | None]] = {}
        for spec, text in todo:
            key = _key(spec, self.config.benchmarks[spec.benchmark], text)
            if key not in self._cache:
                pending.setdefault(key, (spec, text))
        if pending:
            self._cache.update(await self._probe_all(pending))
        out: dict[str, Resolution] = {}
        for spec, text in todo:
            key = _key(spec, self.config.benchmarks[spec.benchmark], text)
            res = self._cache[key]
            res = dataclasses.replace(res, run_id=spec.run_id)
            out[spec.run_id] = res
            if self._published.get(spec.run_id) != key:
                self._published[spec.run_id] = key
                self.bus.publish(self._event(spec, res))
        return out

    async def _probe_all(
        self, pending: Mapping[tuple[object, ...], tuple[RunSpec, str | None]]
    ) -> dict[tuple[object, ...], Resolution]:
        keys = list(pending)
        first = await self._round(
            {k: self._request(str(i), *pending[k], None) for i, k in enumerate(keys)}
        )
        lines: dict[tuple[object, ...], tuple[str, ...]] = {}
        sizes: dict[tuple[object, ...], RunSize] = {}
        for key in keys:
            probed = first[key]
            spec, text = pending[key]
            if not probed.ok:
                continue
            sizes[key] = run_size(probed, text)
            fix = exact_lines(probed, sizes[key])
            if fix:
                lines[key] = fix
        second = await self._round(
            {
                k: self._request(f"{i}f", *pending[k], lines[k])
                for i, k in enumerate(keys)
                if k in lines
            }
        )
        out: dict[tuple[object, ...], Resolution] = {}
        for key in keys:
            spec, text = pending[key]
            bench = self.config.benchmarks[spec.benchmark]
            probed = first[key]
            base = dict(run_id=spec.run_id, node=spec.node, requested=spec.samples)
            if not probed.ok:
                fallback = _static_lines(bench, spec) if bench.exact_samples else ()
                out[key] = Resolution(
                    **base,
                    user_conf=with_lines(text, fallback) if fallback else text,
                    fix_lines=fallback,
                    exact_applied=bool(fallback),
                    where=probed.node,
                    error=probed.error or "LoadGen logged no generated_* lines",
                )
                continue
            fix = lines.get(key, ())
            fixed = second.get(key)
            fix_size = run_size(fixed, fixed.request.user_conf) if fixed and fixed.ok else None
            apply = bench.exact_samples and bool(fix)
            out[key] = Resolution(
                **base,
                user_conf=with_lines(text, fix) if apply else text,
                size=fix_size if apply and fix_size else sizes[key],
                fix_lines=fix,
                fix_size=fix_size,
                exact_applied=apply,
                where=probed.where,
            )
        return out

    def _request(
        self, rid: str, spec: RunSpec, text: str | None, lines: tuple[str, ...] | None
    ) -> ProbeRequest:
        bench = self.config.benchmarks[spec.benchmark]
        return ProbeRequest(
            id=rid,
            scenario=str(spec.scenario),
            mode=str(spec.mode),
            model=bench.model,
            total=spec.samples,
            user_conf=with_lines(text, lines) if lines else text,
        )

    async def _round(
        self, requests: Mapping[tuple[object, ...], ProbeRequest]
    ) -> dict[tuple[object, ...], ProbedSettings]:
        by_node: dict[str, list[tuple[tuple[object, ...], ProbeRequest]]] = {}
        for key, req in requests.items():
            by_node.setdefault(str(key[0]), []).append((key, req))

        async def one(node: str) -> list[tuple[tuple[object, ...], ProbedSettings]]:
            items = by_node[node]
            try:
                transport = await self.transport(node)
            except Exception as exc:  # noqa: BLE001 - an unreachable node: say so per run
                return [(k, ProbedSettings(r, node, error=str(exc))) for k, r in items]
            answers = await probe_settings(transport, [r for _, r in items])
            return [(k, a) for (k, _), a in zip(items, answers, strict=True)]

        results = await asyncio.gather(*(one(n) for n in by_node))
        return {k: a for node_results in results for k, a in node_results}

    def _event(self, spec: RunSpec, res: Resolution) -> RunSettingsResolved:
        bench = self.config.benchmarks[spec.benchmark]
        rate, where = self.measured(spec)
        size = res.size
        if size is None:
            sentence = f"LoadGen's settings could not be probed: {res.error}"
            if res.exact_applied:
                sentence += (
                    "; mlconsole wrote the usual exact-samples lines into the user.conf "
                    "unchecked: " + "; ".join(res.fix_lines)
                )
            return RunSettingsResolved(
                spec.run_id, spec.node, spec.samples, None, False, False, sentence,
                fix_lines=res.fix_lines, exact_samples=res.exact_applied, source=res.where,
            )  # fmt: skip
        sentence = size.sentence()
        if res.exact_applied:
            sentence += " (exact_samples: mlconsole adds the user.conf lines that make it so)"
        elif res.fix_lines and res.fix_size is not None and not res.fix_size.holds:
            sentence += f"; even with the lines below it would be {res.fix_size.expected:,}"
        eta = figures.planned_duration_s(size.expected, rate, size.scheduled_s)
        if rate is not None:
            basis = (
                f"at {_rate(rate)} samples/s, the wall throughput measured on {spec.node} ({where})"
            )
            if size.scheduled_s and eta == size.scheduled_s:
                basis = "LoadGen's Server schedule (longer than the measured rate needs)"
        elif size.scheduled_s:
            basis = f"LoadGen's Server schedule; no measured rate on {spec.node} yet"
        else:
            basis = f"no measured rate for this benchmark on {spec.node} yet"
        trace = ""
        if bench.trace:
            size_b = figures.trace_bytes(size.expected, eta)
            trace = (
                f"LoadGen's trace is on: about {_bytes(size_b)}"
                + ("" if eta is not None else " plus 215 MB per hour of run")
                + " on the node"
            )
        return RunSettingsResolved(
            run_id=spec.run_id,
            node=spec.node,
            requested=spec.samples,
            issued=size.expected,
            exact=size.exact is not None,
            holds=size.holds,
            sentence=sentence,
            fix_lines=() if size.holds and not res.exact_applied else res.fix_lines,
            exact_samples=res.exact_applied,
            eta_s=eta,
            eta_basis=basis,
            source=res.where,
            trace_note=trace,
        )


def _static_lines(bench: Benchmark, spec: RunSpec) -> tuple[str, ...]:
    """The exact-samples lines without a probe to check them (the node's LoadGen did not
    answer): no minimum duration, and the requested count as the minimum query count."""
    prefix = f"{bench.model}.{spec.scenario}."
    queries = spec.samples if str(spec.scenario) != "MultiStream" else math.ceil(spec.samples / 8)
    return (f"{prefix}min_duration = 0", f"{prefix}min_query_count = {queries}")


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"
