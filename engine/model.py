"""Domain objects. Frozen dataclasses; plain dicts stop at the file boundary (TOML in, JSON out).

Why one module of about 500 lines: it is the vocabulary every layer speaks (what to run: the
states, specs, plan and config; what nodes report: GPUs, facts, partitions, runtimes), as
declarations with no logic beyond small properties. Every package imports it, and one import
path for the whole vocabulary keeps the layer contracts simple; the facts half (about 100
lines) would be the part to move out if it grows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum


class Scenario(StrEnum):
    OFFLINE = "Offline"
    SERVER = "Server"
    SINGLE_STREAM = "SingleStream"
    MULTI_STREAM = "MultiStream"


class Mode(StrEnum):
    PERFORMANCE = "performance"
    ACCURACY = "accuracy"


class RunState(StrEnum):
    """Where a run is in its life. Terminal states are those in `TERMINAL_STATES`.

    The values are stable identifiers: results files and the journal store them, and tests
    and scripts match them. The words a person reads for each are the console's
    (`console.format.state_label`)."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STALLED = "stalled"
    LINK_LOST = "link_lost"
    COLLECTING = "collecting"
    SUCCEEDED = "succeeded"
    # LoadGen wrote a complete summary but the harness then exited non-zero (e.g. the
    # llama3.1 reference SUT's ft_response_thread AttributeError at shutdown).
    HARNESS_ERROR_AFTER_COMPLETE = "harness_error_after_complete"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The kill did not go through (the process group survived TERM and KILL): the run may
    # still be going on its node; the summary's detail says where.
    CANCEL_FAILED = "cancel_failed"
    FETCH_FAILED = "fetch_failed"
    # Re-attaching could not reach the node: the run may still be going there, and the
    # journal keeps it unfinished so that a later `attach` follows it.
    UNREACHABLE = "unreachable"
    # A scheduler (Slurm) holds the job and has not started it yet; the detail says why
    # (Resources, Priority, PartitionDown, ...).
    PENDING = "pending"
    # How a scheduler ended a job that did not end by itself (partial results kept).
    TIMED_OUT = "timed_out"
    NODE_FAILED = "node_failed"
    PREEMPTED = "preempted"
    OUT_OF_MEMORY = "out_of_memory"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def ok(self) -> bool:
        """True when the benchmark itself completed (LoadGen's results are usable)."""
        return self in (RunState.SUCCEEDED, RunState.HARNESS_ERROR_AFTER_COMPLETE)


TERMINAL_STATES = frozenset(
    {
        RunState.SUCCEEDED,
        RunState.HARNESS_ERROR_AFTER_COMPLETE,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.CANCEL_FAILED,
        RunState.FETCH_FAILED,
        RunState.UNREACHABLE,
        RunState.TIMED_OUT,
        RunState.NODE_FAILED,
        RunState.PREEMPTED,
        RunState.OUT_OF_MEMORY,
    }
)


class NodeState(StrEnum):
    UNKNOWN = "unknown"
    CHECKING = "checking"
    READY = "ready"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    LINK_LOST = "link lost"
    SERVING = "serving"  # its inference endpoint is up and in a fleet
    SERVICE_FAILED = "service failed"  # its endpoint died or never became ready


class Split(StrEnum):
    """How a parallel group divides its samples between nodes."""

    EQUAL = "equal"
    WEIGHTED = "weighted"
    AUTO = "auto"  # weighted when measurements exist, else equal


@dataclass(frozen=True)
class SlurmSpec:
    """Where a Slurm node's jobs go (`[nodes.NAME.slurm]`): each field is one sbatch option,
    None when the site's default applies."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gres: str | None = None  # e.g. "gpu:1"
    constraint: str | None = None
    time_limit: str | None = None  # Slurm's own syntax: "30", "1:00:00", "1-00:00:00"
    nodes: int = 1
    sbatch_options: tuple[str, ...] = ()  # extra arguments, passed as given (no shell)


@dataclass(frozen=True)
class ContainerSpec:
    """The container a benchmark's harness or a service runs in (`[benchmarks.X.container]`,
    `[services.X.container]`); engine/transport/containers.py builds its command lines."""

    runtime: str  # docker | podman | enroot (pyxis: srun --container-image, Slurm nodes only)
    image: str
    gpus: str | None = None  # "all", or device indexes "0,1"; None: no GPU
    mounts: tuple[str, ...] = ()  # "host_path:container_path[:ro]"
    options: tuple[str, ...] = ()  # extra runtime flags, one argument each


@dataclass(frozen=True)
class ContainerRef:
    """The container a run or service runs in, by the name mlconsole gave it: what a cancel
    stops (engine/transport/containers.py), recorded in the journal for a later console."""

    runtime: str  # docker | podman | enroot
    name: str

    def to_json(self) -> dict[str, str]:
        return {"runtime": self.runtime, "name": self.name}

    @classmethod
    def from_json(cls, data: object) -> ContainerRef | None:
        if not isinstance(data, Mapping) or not data.get("name") or not data.get("runtime"):
            return None
        return cls(str(data["runtime"]), str(data["name"]))


@dataclass(frozen=True)
class NodeSpec:
    """One node of the inventory, as the config describes it."""

    name: str
    transport: str = "local"  # "local" | "ssh" | "slurm"
    host: str | None = None  # ssh: the node; slurm: the login host (None: sbatch runs here)
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts
    # Verifying host keys is the default; turning it off is a per-node, loudly reported opt-out.
    verify_host_key: bool = True
    use_agent: bool = True
    workdir: str = ".mlconsole"  # node-side base dir; relative paths are under $HOME (ssh) or cwd
    python: str = "python3"
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: tuple[int, ...] | None = None  # CUDA_VISIBLE_DEVICES for runs on this node
    vars: Mapping[str, str] = field(
        default_factory=dict
    )  # extra placeholders for command templates
    connect_timeout_s: float = 10.0
    login_timeout_s: float = 20.0
    keepalive_s: float = 15.0
    max_sessions: int = 8  # stay under OpenSSH's MaxSessions (default 10)
    # One node agent per connection carries every command and file operation (one login);
    # false: one exec per command plus SFTP, as 0.1.0 did.
    node_agent: bool = True
    simulated: bool = False  # the node's speed is simulated by the demo harness
    slurm: SlurmSpec | None = None  # transport "slurm" only


@dataclass(frozen=True)
class Generation:
    """What a fleet run's every request says about generation (sent explicitly: servers'
    defaults differ). None: left out of the request. A benchmark's own values default to
    these; `engine.fleet.api.Sampling` is this plus the wire format's own fields."""

    max_tokens: int = 128
    min_tokens: int | None = 1
    temperature: float | None = 0.0
    top_p: float | None = 1.0
    top_k: int | None = 1
    seed: int | None = 42


_GENERATION = Generation()


@dataclass(frozen=True)
class Benchmark:
    """A harness and how to drive it."""

    name: str
    command: str  # template with {samples} {scenario} {mode} {output_dir} {user_conf} ...
    dataset_size: int
    scenario: Scenario = Scenario.OFFLINE
    mode: Mode = Mode.PERFORMANCE
    model: str = "*"  # LoadGen model name used in user.conf keys
    log_dir: str = "{output_dir}"  # where the harness writes mlperf_log_* (template)
    cwd: str | None = None  # harness working directory (template); None: the node-side run dir
    progress_pattern: str | None = None  # regex with named groups `completed` and optional `total`
    progress_stream: str = "stdout"  # where progress_pattern looks: stdout | stderr | both
    user_conf: str | None = None  # user.conf text (template), written to the run dir
    # Where LoadGen's settings come from: "user_conf" (the harness calls FromConfig on the
    # user.conf mlconsole writes, after the built-in mlperf.conf, as the MLCommons references
    # do), so mlconsole can probe them before launch; "harness" (it decides them itself).
    loadgen_settings: str = "harness"
    exact_samples: bool = False  # mlconsole adds the user.conf lines that make LoadGen issue
    # exactly the requested samples (development runs; not valid for a submission)
    trace: bool = False  # LoadGen's trace is written (mlconsole follows it for progress)
    trace_flag: str | None = None  # the harness's flag that turns the trace on
    accuracy_command: str | None = None  # scores an accuracy run (template; the accuracy step)
    accuracy_level: str = "99"  # the accuracy targets: "99" or "99.9" percent of the reference
    audit_config_intended: bool = False
    stall_timeout_s: float = 300.0
    supports_shards: bool = True
    simulated: bool = False  # the bundled demo harness: node speeds are simulated
    # Fleet runs (engine/fleet): the controller-side dataset and what each request asks for.
    dataset: str | None = None  # a path on the controller, or "synthetic"
    prompt_field: str = "tok_input"
    # Each a config key of its own (the flat [benchmarks.*] table); `generation` groups them.
    max_tokens: int = _GENERATION.max_tokens
    min_tokens: int | None = _GENERATION.min_tokens
    temperature: float | None = _GENERATION.temperature
    top_p: float | None = _GENERATION.top_p
    top_k: int | None = _GENERATION.top_k
    seed: int | None = _GENERATION.seed
    request_extra: Mapping[str, object] = field(default_factory=dict)
    # Sharding a harness without a shard offset: the node-side dataset file to slice.
    shard_dataset: str | None = None
    container: ContainerSpec | None = None  # the harness runs in this container

    @property
    def generation(self) -> Generation:
        return Generation(**{f.name: getattr(self, f.name) for f in fields(Generation)})


@dataclass(frozen=True)
class ComplianceTest:
    """A compliance test a run carries (engine/checks/compliance.py): mlconsole places
    `audit_config` in the harness's working directory for that run only, and runs
    `verify_command` (a template) on the node afterwards."""

    test: str  # "TEST01" | "TEST04" | "TEST06"
    audit_config: str  # the settings text (without mlconsole's marker line)
    source: str  # where the text came from: the stage's file, or the built-in test's
    verify_command: str | None = None


@dataclass(frozen=True)
class RunSpec:
    """One LoadGen run to execute on one node."""

    run_id: str  # unique within a plan execution, e.g. "s1-fast-100"
    node: str
    benchmark: str
    scenario: Scenario
    mode: Mode
    samples: int  # samples requested for this run (the shard's size in a group)
    shard_start: int = 0
    group_id: str | None = None
    stage: str = ""
    label: str = ""
    compliance: ComplianceTest | None = None  # a compliance test's run
    target_qps: float | None = None  # the Server QPS search's value, written to the user.conf
    user_conf_extra: str = ""  # more user.conf lines for this run (a QPS search's short runs)


@dataclass(frozen=True)
class GroupSpec:
    """A parallel group: one shard per node, all started at once."""

    group_id: str
    name: str
    nodes: tuple[str, ...]
    benchmark: str
    scenario: Scenario
    mode: Mode
    total_samples: int
    split: Split = Split.AUTO
    calibrate: bool = False  # run a short calibration per node first when no measurement exists


@dataclass(frozen=True)
class ServiceSpec:
    """An inference endpoint server started on nodes: a run that does not end by itself."""

    name: str
    port: int
    command: str | None = None  # None: started by someone else; mlconsole only probes it
    model: str | None = None  # the served model name /v1/models must list (sent as `model`)
    health_path: str = "/health"
    ready_timeout_s: float = 600.0
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    forward: str = "auto"  # "auto" (ssh for SSH nodes) | "ssh" | "direct"
    host: str = "127.0.0.1"  # where the node-side end connects (the forward's target)
    keep_running: bool = False
    max_in_flight: int = 64
    request_timeout_s: float = 600.0
    return_token_ids: bool = True
    simulated: bool = False
    container: ContainerSpec | None = None  # the server runs in this container


@dataclass(frozen=True)
class FleetSpec:
    """A fleet stage: one LoadGen on the controller over the endpoints of `nodes`; a
    concurrency sweep runs it once per entry of `concurrency` (None: no limit)."""

    fleet_id: str
    name: str
    nodes: tuple[str, ...]
    service: str
    benchmark: str
    scenario: Scenario
    mode: Mode
    samples: int
    target_qps: float | None = None
    max_retries: int = 2
    concurrency: tuple[int | None, ...] = (None,)
    sweep: bool = False


@dataclass(frozen=True)
class QpsSearchSpec:
    """A Server QPS search on one node (engine/run/qps_search.py): bisection between
    `low_qps` and `high_qps` over short runs of `samples`, then a full-length confirmation
    run of `confirm_samples` at the found QPS lowered by `backoff`."""

    search_id: str
    name: str
    node: str
    benchmark: str
    scenario: Scenario
    samples: int
    confirm_samples: int
    low_qps: float
    high_qps: float
    tolerance: float = 0.05
    backoff: float = 0.0
    max_steps: int = 10
    short_user_conf: str = ""  # user.conf lines only the short runs get (a shorter min_duration)


@dataclass(frozen=True)
class Stage:
    """Stages run in order. Within a stage, runs on different nodes go concurrently and the
    runs of one node go one after another; a group's shards all start together."""

    name: str
    kind: str  # the config's `kind`: "run" | "sweep" | "group" | "fleet" | "concurrency_sweep" |
    # "compliance" | "qps_search"
    runs: tuple[RunSpec, ...] = ()
    group: GroupSpec | None = None
    fleet: FleetSpec | None = None
    search: QpsSearchSpec | None = None


@dataclass(frozen=True)
class Plan:
    stages: tuple[Stage, ...] = ()

    def all_runs(self) -> tuple[RunSpec, ...]:
        return tuple(r for s in self.stages for r in s.runs)


@dataclass(frozen=True)
class Settings:
    results_dir: str = "results"
    reports_dir: str = "reports"
    poll_interval_s: float = 0.5
    stall_timeout_s: float | None = None  # overrides each benchmark's when set
    telemetry_interval_s: float = 1.0
    theme: str = "dark"
    baseline_node: str | None = None
    # A run whose figure falls more than this fraction below its node's previous median (same
    # benchmark, scenario, mode and sample count) is flagged as a regression
    # (engine.analysis.regression).
    regression_margin: float = 0.05
    # The MLPerf round every run is judged against (engine.submission.rules.ROUNDS); None:
    # the newest round mlconsole knows.
    submission_round: str | None = None
    # Name patterns (globs, any case) of secrets beyond engine.secrets.DEFAULT_SECRET_NAMES.
    secret_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """A validated config. `source` is the file it came from, `raw` the parsed TOML (for the
    snapshot written into each run dir, with secrets removed)."""

    source: str
    nodes: Mapping[str, NodeSpec]
    benchmarks: Mapping[str, Benchmark]
    plan: Plan
    settings: Settings = field(default_factory=Settings)
    raw: Mapping[str, object] = field(default_factory=dict)
    services: Mapping[str, ServiceSpec] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return (
            any(b.simulated for b in self.benchmarks.values())
            or any(n.simulated for n in self.nodes.values())
            or any(s.simulated for s in self.services.values())
        )


# --- what nodes report -------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total_mib: float | None = None
    memory_used_mib: float | None = None
    driver: str | None = None
    uuid: str | None = None
    utilization_pct: float | None = None
    processes: int | None = None  # compute processes on it right now


@dataclass(frozen=True)
class GpuSample:
    """One reading of one GPU. A field the GPU does not report is None, never a made-up 0."""

    ts: float  # unix seconds
    node: str
    gpu: int
    utilization_pct: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    sm_clock_mhz: float | None = None
    name: str | None = None


@dataclass(frozen=True)
class PartitionFacts:
    """A Slurm node's partition as `sinfo`/`scontrol` report it (preflight, `mlconsole check`).
    `node_states` counts nodes per sinfo state (idle, alloc, mix, down, drain, ...)."""

    partition: str
    exists: bool
    up: bool = False
    node_states: Mapping[str, int] = field(default_factory=dict)
    gres: tuple[str, ...] = ()  # what the partition's nodes offer ("gpu:h100:8"); () none
    max_time: str | None = None  # the partition's MaxTime
    limits: str | None = None  # the user's association limits (sacctmgr), when accounting has them

    @property
    def idle(self) -> int:
        return self.node_states.get("idle", 0)

    @property
    def allocated(self) -> int:
        return sum(n for s, n in self.node_states.items() if s in ("alloc", "mix", "comp"))


@dataclass(frozen=True)
class RuntimeFacts:
    """Whether a container runtime the plan uses on a node answers (preflight): docker or
    podman's `info` (their daemon or service, not only the client), pyxis's srun flag."""

    runtime: str
    usable: bool
    version: str | None = None
    detail: str = ""  # the runtime's own words when it is not usable


@dataclass(frozen=True)
class NodeFacts:
    """What a probe learned about a node. `gpu_state` is 'ok', 'no-driver', 'no-nvidia-smi'
    or 'unknown'; `warnings` are things to look at that do not stop a run."""

    node: str
    reachable: bool
    error: str | None = None
    os: str | None = None
    python: str | None = None
    loadgen_version: str | None = None
    gpus: tuple[GpuInfo, ...] = ()
    gpu_state: str = "unknown"
    driver: str | None = None
    free_disk_bytes: int | None = None
    audit_config: bool = False
    warnings: tuple[str, ...] = ()
    elapsed_s: float | None = None
    # The host as a submission's systems/<system>.json describes it (None: not read).
    os_name: str | None = None  # /etc/os-release PRETTY_NAME
    cpu_model: str | None = None  # /proc/cpuinfo "model name"
    cpu_cores: int | None = None  # "cpu cores": cores per processor
    cpu_sockets: int | None = None  # distinct "physical id"s
    memory_bytes: int | None = None  # /proc/meminfo MemTotal
    slurm: PartitionFacts | None = None  # Slurm nodes: the partition's state
    containers: tuple[RuntimeFacts, ...] = ()  # the container runtimes the plan uses here

    @property
    def ready(self) -> bool:
        partition_ok = self.slurm is None or (self.slurm.exists and self.slurm.up)
        return (
            self.reachable
            and self.loadgen_version is not None
            and not self.audit_config
            and partition_ok
            and all(c.usable for c in self.containers)
        )
