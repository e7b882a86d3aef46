"""Endpoint services on nodes: a run that does not end by itself.

A service is started with the transports' detach wrapper (`launch.sh`, its own process group,
stdout/stderr to files, exit code recorded), in a node-side dir named for the service and its
port (`<workdir>/services/<name>-<port>/`), so a later plan finds it again. It speaks only the
`Transport` protocol (local, SSH, and whatever transport comes next), plus `forward_port` to
reach the port: directly, or by default on SSH nodes through a forward over the node's
existing connection.

`start_service` reuses a server that already answers (ready and serving the model), else
launches one and waits for readiness: `health_path` answering 200, then `/v1/models` listing
the model, within `ready_timeout_s`. A server that exits, or is not ready in time, raises
`ServiceFailed` with the tail of its log: never a hang. `stop` ends what mlconsole started,
unless the service says `keep_running`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from engine.errors import LinkLost, MlconsoleError, TransportError
from engine.fleet.client import EndpointClient, EndpointFailure
from engine.model import NodeSpec, ServiceSpec
from engine.transport import containers, detach
from engine.transport.base import ContainerRef, LaunchRequest, PortForward, RunHandle, Transport
from engine.transport.tail import LineTail

POLL_S = 0.5
LOG_TAIL_LINES = 12


class ServiceFailed(MlconsoleError):
    """A service that could not be started, died, or never became ready."""

    def __init__(self, node: str, service: str, reason: str, log_tail: tuple[str, ...] = ()):
        self.node, self.service, self.reason, self.log_tail = node, service, reason, log_tail
        text = f"service {service} on node {node}: {reason}"
        if log_tail:
            text += "; last log lines: " + " | ".join(log_tail[-LOG_TAIL_LINES:])
        super().__init__(text)


def forward_mode(node: NodeSpec, service: ServiceSpec) -> str:
    """ "ssh" or "direct" for this node (auto: forward over SSH nodes' connections, and over
    a Slurm node's login host when it has one)."""
    if service.forward != "auto":
        return service.forward
    if node.transport == "ssh" or (node.transport == "slurm" and node.host):
        return "ssh"
    return "direct"


@dataclass
class RunningService:
    """A ready endpoint: where the controller reaches it, and whether mlconsole owns it."""

    node: str
    service: ServiceSpec
    url: str
    service_dir: str
    handle: RunHandle | None  # None: mlconsole did not start it (or cannot stop it)
    reused: bool
    forward: PortForward | None = None
    tails: dict[str, LineTail] = field(default_factory=dict)
    models: tuple[str, ...] = ()

    def close_forward(self) -> None:
        if self.forward is not None:
            self.forward.close()
            self.forward = None


Say = Callable[[str, str], None]  # (state, detail)
LogLines = Callable[[str, tuple[str, ...]], None]  # (stream, lines)


async def service_dir(transport: Transport, node: NodeSpec, service: ServiceSpec) -> str:
    home = (await transport.home()).rstrip("/")
    base = node.workdir if node.workdir.startswith("/") else f"{home}/{node.workdir}"
    return f"{base.rstrip('/')}/services/{service.name}-{service.port}"


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


async def _reach(
    transport: Transport, node: NodeSpec, service: ServiceSpec, port: int, job_host: str | None
) -> tuple[str, PortForward | None]:
    """The URL the controller uses, through a forward when the mode says so. `job_host` is
    the address of the node a scheduler (Slurm) gave the service's job: the only place
    where it listens."""
    target = job_host or service.host
    if forward_mode(node, service) == "ssh":
        fwd = await transport.forward_port(target, port)
        return f"http://127.0.0.1:{fwd.local_port}", fwd
    # Direct: a loopback `host` means the node's own address as the controller knows it.
    host = target
    if not job_host and node.transport != "local" and host in _LOOPBACK and node.host:
        host = node.host
    return f"http://{host}:{port}", None


async def probe(client: EndpointClient, service: ServiceSpec) -> tuple[bool, str, tuple[str, ...]]:
    """(ready, why not, models): health answers 200 and /v1/models lists the model."""
    try:
        status, body, _ = await client.get(service.health_path, timeout_s=5.0)
    except EndpointFailure as exc:
        return False, str(exc), ()
    if status != 200:
        return False, f"{service.health_path} answered {status}", ()
    try:
        models = tuple(await client.models())
    except EndpointFailure as exc:
        return False, str(exc), ()
    if service.model is not None and service.model not in models:
        return (
            False,
            f"/v1/models lists {', '.join(models) or 'no model'}, not {service.model}",
            models,
        )
    if not models:
        return False, "/v1/models lists no model", models
    return True, "", models


PORT_FILE = "port"


async def start_service(
    transport: Transport,
    node: NodeSpec,
    service: ServiceSpec,
    *,
    say: Say,
    log: LogLines,
    render: Callable[[str], str],
    cancelled: Callable[[], bool] = lambda: False,
) -> RunningService:
    """A ready endpoint for `service` on `node`, reused or started. Raises ServiceFailed.

    `render(service_dir)` is the service's command with its placeholders filled. A service
    with `port = 0` chooses its own port and writes it to `{service_dir}/port`."""
    try:
        sdir = await service_dir(transport, node, service)
    except (TransportError, LinkLost, OSError) as exc:
        raise ServiceFailed(node.name, service.name, f"node unreachable: {exc}") from None
    running = RunningService(node.name, service, "", sdir, None, reused=False)
    running.tails = {
        "stdout": LineTail(f"{sdir}/{detach.STDOUT}"),
        "stderr": LineTail(f"{sdir}/{detach.STDERR}"),
    }
    try:
        existing, job_host = await _existing(transport, node, service, sdir)
        port = service.port or (await _read_port(transport, sdir) if existing else None)
        why = "its port is not known yet"
        if port:
            await _connect(transport, node, service, running, port, job_host)
            ready, why, models = await _probe_url(running.url, service)
            if ready:
                running.reused, running.handle, running.models = True, existing, models
                # Tail only what the server writes from now on.
                for tail in running.tails.values():
                    tail.offset = await transport.size(tail.path) or 0
                say("reused", f"already serving {', '.join(models)} at {running.url}")
                return running
        if existing is None:
            if service.command is None:
                raise ServiceFailed(
                    node.name,
                    service.name,
                    f"nothing answers at {running.url or 'its port'} ({why}) and the service "
                    "has no command to start one",
                )
            running.close_forward()
            running.url = ""
            running.handle = await _launch(transport, node, service, sdir, render(sdir))
            h = running.handle
            what = f"Slurm job {h.job_id}" if h.job_id else f"pid {h.pid}"
            say("starting", f"{what}, log in {sdir}")
        else:
            running.handle = existing
            say("starting", f"already starting (pid {existing.pid}), waiting for it")
        running.models = await _wait_ready(
            transport, node, running, service, say=say, log=log, cancelled=cancelled
        )
        say("ready", f"serving {', '.join(running.models)} at {running.url}")
        return running
    except BaseException:
        running.close_forward()
        raise


async def _read_port(transport: Transport, sdir: str) -> int | None:
    raw = await transport.read_from(f"{sdir}/{PORT_FILE}", 0, 32)
    try:
        port = int(raw.decode().strip())
    except ValueError:
        return None
    return port if 0 < port < 65536 else None


async def _connect(
    transport: Transport,
    node: NodeSpec,
    service: ServiceSpec,
    running: RunningService,
    port: int,
    job_host: str | None = None,
) -> None:
    try:
        running.url, running.forward = await _reach(transport, node, service, port, job_host)
    except (TransportError, LinkLost, OSError) as exc:
        raise ServiceFailed(node.name, service.name, f"cannot reach port {port}: {exc}") from None


async def _probe_url(url: str, service: ServiceSpec) -> tuple[bool, str, tuple[str, ...]]:
    client = EndpointClient(url, connect_timeout_s=5.0)
    try:
        return await probe(client, service)
    finally:
        await client.close()


async def _existing(
    transport: Transport, node: NodeSpec, service: ServiceSpec, sdir: str
) -> tuple[RunHandle | None, str | None]:
    """The service's wrapper from an earlier start, when it is still running, and the
    address of the host a scheduler gave it (None elsewhere). A Slurm transport finds the
    job from the dir (`slurm_job_id`), so the pid alone is handed over here too."""
    raw = await transport.read_from(f"{sdir}/{detach.PID}", 0, 64)
    try:
        pid = int(raw.decode().strip())
    except ValueError:
        return None, None
    handle = RunHandle(node.name, "service", sdir, pid, container=_container(node, service))
    status = await transport.status(handle)
    return (handle, status.address) if status.state == "running" else (None, None)


def _container(node: NodeSpec, service: ServiceSpec) -> ContainerRef | None:
    """The service's container by the one name it has on this node (its dir's), so that a
    later console that reuses or stops the server finds the container too."""
    if service.container is None:
        return None
    name = containers.container_name(f"service-{service.name}-{service.port}", node.name)
    return ContainerRef(service.container.runtime, name)


async def _launch(
    transport: Transport, node: NodeSpec, service: ServiceSpec, sdir: str, command: str
) -> RunHandle:
    cwd = service.cwd or sdir
    if not cwd.startswith("/"):
        cwd = f"{(await transport.home()).rstrip('/')}/{cwd}"
    # A fresh start: the last start's exit code and logs must not read as this one's.
    await transport.make_dirs(sdir)
    old = [detach.EXIT_CODE, detach.ENDED_AT, PORT_FILE]
    await transport.run(["rm", "-f", *(f"{sdir}/{n}" for n in old)], timeout=15)
    env = {**node.env, **service.env}
    if node.gpus is not None:
        env.setdefault("CUDA_VISIBLE_DEVICES", ",".join(str(g) for g in node.gpus))
    request = LaunchRequest(
        run_id=f"service-{service.name}", run_dir=sdir, command=command, cwd=cwd, env=env
    )
    ref = _container(node, service)
    try:
        if service.container is not None and ref is not None:
            # A container left under this name (its wrapper gone) would block the name.
            await containers.stop_container(transport, RunHandle(node.name, "service", sdir, 0,
                                                                 container=ref))  # fmt: skip
            request = containers.in_container(request, service.container, ref.name,
                                              node_gpus=node.gpus)  # fmt: skip
        return replace(await transport.start(request), container=ref)
    except (TransportError, LinkLost, OSError) as exc:
        raise ServiceFailed(node.name, service.name, f"could not start: {exc}") from None


async def _wait_ready(
    transport: Transport,
    node: NodeSpec,
    running: RunningService,
    service: ServiceSpec,
    *,
    say: Say,
    log: LogLines,
    cancelled: Callable[[], bool],
) -> tuple[str, ...]:
    assert running.handle is not None
    deadline = time.monotonic() + service.ready_timeout_s
    recent: list[str] = []
    last_why = ""
    while True:
        if cancelled():
            await stop(transport, running, force=True)
            raise ServiceFailed(running.node, service.name, "cancelled while starting")
        status = await transport.status(running.handle)
        await follow_logs(transport, running, log, recent)
        if status.state == "pending":  # a Slurm job waiting for its allocation
            why = f"waiting in Slurm's queue: {status.reason or 'no reason given yet'}"
            if why != last_why:
                say("waiting", why)
                last_why = why
            if time.monotonic() > deadline:
                await stop(transport, running, force=True)
                raise ServiceFailed(running.node, service.name, f"not started in time ({why})")
            await asyncio.sleep(POLL_S)
            continue
        if status.state != "running":
            await follow_logs(transport, running, log, recent, final=True)
            code = status.exit_code
            what = f"exited with code {code}" if code is not None else "vanished"
            raise ServiceFailed(
                running.node, service.name, f"{what} before it was ready", tuple(recent)
            )
        why = f"waiting for it to write its port to {running.service_dir}/{PORT_FILE}"
        if not running.url:
            port = service.port or await _read_port(transport, running.service_dir)
            if port:
                await _connect(transport, node, service, running, port, status.address)
        if running.url:
            ready, why, models = await _probe_url(running.url, service)
            if ready:
                return models
        if why != last_why:
            say("waiting", why)
            last_why = why
        if time.monotonic() > deadline:
            await stop(transport, running, force=True)
            raise ServiceFailed(
                running.node,
                service.name,
                f"not ready within ready_timeout_s = {service.ready_timeout_s:g} s ({why}); "
                "stopped it",
                tuple(recent),
            )
        await asyncio.sleep(POLL_S)


async def follow_logs(
    transport: Transport,
    running: RunningService,
    log: LogLines,
    recent: list[str] | None = None,
    *,
    final: bool = False,
) -> None:
    """New lines of the service's stdout and stderr, to `log` (and the last few to `recent`)."""
    for stream, tail in running.tails.items():
        lines = await tail.poll(transport, final=final)
        if lines:
            log(stream, tuple(lines))
            if recent is not None:
                recent.extend(lines)
                del recent[:-LOG_TAIL_LINES]


async def alive(transport: Transport, running: RunningService) -> str | None:
    """None while the service runs, else a sentence saying how it ended."""
    if running.handle is None:
        return None
    status = await transport.status(running.handle)
    if status.live:
        return None
    return f"exited with code {status.exit_code}" if status.exit_code is not None else "vanished"


async def stop(transport: Transport, running: RunningService, *, force: bool = False) -> bool:
    """Stop the server if mlconsole owns it and the service is not kept; True when stopped."""
    running.close_forward()
    if running.handle is None or (running.service.keep_running and not force):
        return False
    try:
        await containers.cancel_run(transport, running.handle, grace_s=5.0)
    except (TransportError, LinkLost, OSError):
        return False
    return True
