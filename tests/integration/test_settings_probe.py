"""The settings probe asks the REAL LoadGen (mlcommons-loadgen, the node's own) what a run
will issue, for every scenario, before anything runs: the counts below are LoadGen's, from
its built-in mlperf.conf and the user.conf given, and the offered user.conf lines are proven
by probing again with them."""

from __future__ import annotations

import sys

import pytest

from engine.events import EventBus, RunSettingsResolved
from engine.model import NodeSpec
from engine.probe.settings import ProbeRequest, probe_settings
from engine.probe.sizing import exact_lines, run_size, with_lines
from engine.transport.local import LocalTransport

LLAMA = "llama3_1-8b"
CASES = [
    # (scenario, mode, model, requested, user.conf, LoadGen's count or None, a cause it names)
    ("Offline", "performance", LLAMA, 100, f"{LLAMA}.Offline.min_duration = 0\n", 13400,
     "min_query_count 13368 from mlperf.conf"),
    ("Server", "performance", LLAMA, 100, "*.Server.target_qps = 0.5\n", 300,
     "min_duration 600000 ms at target_qps 0.5"),
    ("SingleStream", "performance", LLAMA, 100, "*.SingleStream.min_duration = 0\n", 200,
     "equal-issue mode (sample_concatenate_permutation, from mlperf.conf)"),
    ("MultiStream", "performance", "demo", 50, "*.MultiStream.min_duration = 0\n", 5296,
     "min_query_count 662 from mlperf.conf"),
    ("SingleStream", "performance", "demo", 100, "", None, "min_duration 600000 ms"),
    ("Offline", "accuracy", LLAMA, 100, "", 100, ""),
]  # fmt: skip


@pytest.fixture
def transport() -> LocalTransport:
    return LocalTransport(NodeSpec("local", python=sys.executable))


async def test_each_scenario_says_what_loadgen_will_issue_and_why(transport) -> None:
    requests = [ProbeRequest(str(i), *c[:5]) for i, c in enumerate(CASES)]
    answers = await probe_settings(transport, requests)
    fixed = []
    for probed, (scenario, mode, _, n, conf, count, cause) in zip(answers, CASES, strict=True):
        assert probed.ok, probed.error
        assert probed.loadgen_version and probed.loadgen_version.startswith("6.")
        size = run_size(probed, conf)
        assert size.exact == count, (scenario, size)
        sentence = size.sentence()
        assert cause in sentence, sentence
        if count is None:  # a min_duration keeps a stream scenario going: a lower bound
            assert sentence.startswith("LoadGen will issue at least")
        lines = exact_lines(probed, size)
        if size.holds:
            assert lines == () and sentence.endswith("as requested")
        else:
            assert lines and all(
                line.startswith(f"{probed.request.model}.{scenario}.") for line in lines
            )
            fixed.append((scenario, n, ProbeRequest(f"f{probed.request.id}", scenario, mode,
                          probed.request.model, n, with_lines(conf, lines))))  # fmt: skip
    again = await probe_settings(transport, [r for *_, r in fixed])
    for (scenario, n, _), probed in zip(fixed, again, strict=True):
        size = run_size(probed, probed.request.user_conf)
        # MultiStream issues whole queries of 8: 50 asked gives 7 queries, 56 samples.
        assert size.exact == (56 if scenario == "MultiStream" else n), (scenario, size)


async def test_a_user_conf_loadgen_rejects_is_reported_not_applied(transport) -> None:
    (probed,) = await probe_settings(
        transport, [ProbeRequest("x", "Offline", "performance", LLAMA, 100, "a = b\n")]
    )
    assert probed.fromconfig_rc == -22
    assert any(key == "error_invalid_config" for key, _ in probed.errors)


async def test_a_node_without_loadgen_says_so_per_run() -> None:
    broken = LocalTransport(NodeSpec("local", python="/no/such/python"))
    (probed,) = await probe_settings(
        broken, [ProbeRequest("x", "Offline", "performance", LLAMA, 100, "")]
    )
    assert not probed.ok and "/no/such/python" in (probed.error or "")


async def test_the_resolver_publishes_one_event_per_run_with_eta_and_exact_lines(tmp_path) -> None:
    from engine.config.load import parse_config
    from engine.run.loadgen_settings import SettingsResolver

    config = parse_config(
        f"""
[nodes.n]
transport = "local"
workdir = "{tmp_path}"
[benchmarks.plain]
command = "{{python}} x.py --user-conf {{user_conf}}"
model = "{LLAMA}"
loadgen_settings = "user_conf"
user_conf = "{LLAMA}.Offline.min_duration = 0"
[benchmarks.exact]
command = "{{python}} x.py --user-conf {{user_conf}}"
model = "{LLAMA}"
loadgen_settings = "user_conf"
exact_samples = true
trace = true
trace_flag = "--enable-log-trace"
[[plan]]
kind = "run"
name = "a"
node = "n"
benchmark = "plain"
samples = 100
[[plan]]
kind = "run"
name = "b"
node = "n"
benchmark = "exact"
samples = 100
"""
    )
    bus = EventBus()
    seen: list[RunSettingsResolved] = []
    bus.add_listener(lambda ev: seen.append(ev) if isinstance(ev, RunSettingsResolved) else None)
    local = LocalTransport(config.nodes["n"])

    async def transport_for(name: str) -> LocalTransport:
        return local

    resolver = SettingsResolver(config, bus, transport_for, lambda spec: (50.0, "n_2026"))
    specs = config.plan.all_runs()
    resolved = await resolver.resolve(specs)
    plain, exact = seen
    assert (plain.issued, plain.holds, exact.issued, exact.holds) == (13400, False, 100, True)
    assert plain.eta_s == pytest.approx(13400 / 50.0) and "50 samples/s" in plain.eta_basis
    assert plain.fix_lines == (f"{LLAMA}.Offline.min_query_count = 100",)
    assert exact.exact_samples and "exact_samples" in exact.sentence
    assert "LoadGen's trace is on: about" in exact.trace_note
    # The exact run's user.conf carries the lines; the plain one's is as written.
    assert f"{LLAMA}.Offline.min_query_count = 100" in resolved[specs[1].run_id].user_conf
    assert resolved[specs[0].run_id].user_conf == f"{LLAMA}.Offline.min_duration = 0"
    # Asked again for the same text: cached, and no second event.
    await resolver.for_run(specs[0], f"{LLAMA}.Offline.min_duration = 0")
    assert len(seen) == 2


@pytest.mark.ssh
async def test_the_probe_asks_an_ssh_node_s_own_loadgen_in_one_round_trip(ssh_node) -> None:
    """Over a real loopback sshd: the program travels with `python -c`, the node's LoadGen
    answers every request of the batch."""
    from engine.transport.ssh import SshTransport

    t = SshTransport(ssh_node("n1"))
    await t.connect()
    try:
        answers = await probe_settings(
            t,
            [
                ProbeRequest("a", "Offline", "performance", LLAMA, 100, "it's = 'quoted'\n"),
                ProbeRequest(
                    "b", "Server", "performance", LLAMA, 100, "*.Server.min_duration = 0\n"
                ),
            ],
        )
    finally:
        await t.close()
    a, b = answers
    assert a.ok and b.ok and a.where.startswith("n1 (LoadGen 6.")
    assert a.fromconfig_rc == -22  # the hostile text arrived as data, and LoadGen refused it
    assert run_size(b, b.request.user_conf).exact == 100
