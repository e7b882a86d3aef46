"""The console: a Textual app over the engine's events.

`run_console(config_arg, theme)` is what `mlconsole [CONFIG]` calls. The app owns one
Orchestrator, runs its coroutines as workers on the app's event loop, and shows what the
engine publishes: the bridge batches events (~10 Hz), `ConsoleState` folds them, and the app
tells the main screen what changed by message (`StateChanged`); the screen repaints only while
it is on display. Charts are rebuilt at most once a second. Nothing here computes a figure or
blocks on I/O; a background worker's failure is shown, whichever worker it was.

Past the ~450-line guide: every key's `action_*` lives here (console.tui.actions names them
once for the footer, help and palette, and they all call the one Orchestrator the app owns);
the confirmations, the pager hand-over and the workers are small methods of that one owner.
The state it shows is `ConsoleState`'s, the screen `MainScreen`'s.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.color import Color
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from console.batch import run_result_line, settings_lines
from console.tui.actions import ConsoleCommands, help_sections
from console.tui.bridge import FLUSH_INTERVAL_S, EventBridge
from console.tui.messages import (
    ActionFailed,
    EngineBatch,
    LoadgenSummaryText,
    LogCommand,
    LogSummary,
    OpenFilter,
    RepaintAll,
    SortRuns,
    StateChanged,
    ToggleDenseNodes,
    ToggleFollow,
    ToggleSide,
)
from console.tui.pager import open_in_pager
from console.tui.rows import Changes
from console.tui.screens.config_error import ConfigErrorScreen
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.main import MainScreen
from console.tui.screens.run_details import (
    RunDetailsScreen,
    group_details_text,
    read_loadgen_summary,
    run_details_text,
)
from console.tui.state import ConsoleState
from engine.errors import ConfigError, MlconsoleError
from engine.events import Notice
from engine.model import Config

THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"
CHART_INTERVAL_S = 1.0
TABLE_INTERVAL_S = 1.0
_THEME_FIELDS = {
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
}
_VARIABLE = re.compile(r"^\s*\$([A-Za-z][A-Za-z0-9-]*)\s*:\s*([^;]+);", re.MULTILINE)


def load_theme_files(directory: Path = THEMES_DIR) -> list[Theme]:
    """A Textual Theme per `<name>.tcss` palette file (base.tcss holds rules, not a palette)."""
    themes = []
    for path in sorted(directory.glob("*.tcss")):
        if path.stem == "base":
            continue
        found = dict(_VARIABLE.findall(path.read_text()))
        if "primary" not in found:
            continue
        fields = {k: v.strip() for k, v in found.items() if k in _THEME_FIELDS}
        variables = {k: v.strip() for k, v in found.items() if k not in _THEME_FIELDS}
        dark = Color.parse(fields.get("background", "#000000")).brightness < 0.5
        themes.append(Theme(name=path.stem, dark=dark, variables=variables, **fields))
    return themes


def freeze_startup_objects() -> None:
    """Collect once, then move every object alive after start-up (Textual, Rich, the
    engine's modules, the screen: about 200,000) out of the collector's reach: each full
    collection walked them all, 110 ms of a stalled UI every few seconds with 16 runs
    streaming (bench/console_cpu.py), and they live as long as the console anyway."""
    gc.collect()
    gc.freeze()


class ConsoleApp(App[int]):
    """`config` None with `config_error` set shows the error screen and exits with 2.

    `clock` dates chart points that carry no time of their own; `preflight_on_start` probes
    the nodes as soon as the console opens (off in tests that want a still picture)."""

    TITLE = "mlconsole"
    CSS_PATH = str(THEMES_DIR / "base.tcss")
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        config: Config | None,
        *,
        config_note: str = "",
        theme: str | None = None,
        config_error: ConfigError | None = None,
        clock: Callable[[], float] = time.monotonic,
        preflight_on_start: bool = False,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        chart_interval_s: float = CHART_INTERVAL_S,
        table_interval_s: float = TABLE_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.config = config
        self.config_note = config_note
        self.config_error = config_error
        self.requested_theme = theme or (config.settings.theme if config else None) or "dark"
        self.state = ConsoleState(config, clock)
        self.preflight_on_start = preflight_on_start
        self.flush_interval_s = flush_interval_s
        self.chart_interval_s = chart_interval_s
        self.orchestrator: Any = None
        self.bridge: EventBridge | None = None
        self.summaries: dict[str, tuple[str, str]] = {}  # run_id -> (title, text) for the log
        self.theme_names: list[str] = []
        self.table_interval_s = table_interval_s
        self.sub_title = config_note

    # --- start and stop ---------------------------------------------------------------------

    def get_default_screen(self) -> Any:
        if self.config_error is not None:
            return ConfigErrorScreen(self.config_error)
        source = self.config.source if self.config else "no config"
        return MainScreen(
            self.state, self.summaries, source, self.table_interval_s, self.chart_interval_s
        )

    def on_mount(self) -> None:
        for t in load_theme_files():
            self.register_theme(t)
            self.theme_names.append(t.name)
        try:
            self.theme = self.requested_theme
        except Exception:  # noqa: BLE001 - InvalidThemeError: say so, keep the default
            self.theme = "dark"
            self.notify(
                f"no theme named {self.requested_theme!r}; themes: "
                + ", ".join(self.theme_names)
                + " (or any Textual theme)",
                severity="warning",
            )
        if self.config_error is not None or self.config is None:
            return
        from engine.run.orchestrator import Orchestrator

        self.orchestrator = Orchestrator(self.config)
        self.bridge = EventBridge(self.orchestrator.bus, self.post_message, self.flush_interval_s)
        self.bridge.attach()
        self.sync_views()
        self.call_after_refresh(freeze_startup_objects)
        if self.preflight_on_start:
            self.action_preflight()
        self.run_worker(
            self._look_for_unfinished,
            name="reading the journal",
            thread=True,
            exit_on_error=False,
            group="journal",
        )

    def _look_for_unfinished(self) -> None:
        """The plan as an earlier console left it: its finished runs shown with their
        recorded outcome (not `planned`), and what `a` and `s` would do."""
        from engine.results.plan_journal import recorded_outcomes

        orch = self.orchestrator
        unfinished = orch.store.unfinished()
        record = orch.unfinished_plan()
        events: list[Any] = []
        if record is not None:
            events += self._judged(recorded_outcomes(orch.store.root, record))
        if unfinished:
            events.append(
                Notice(
                    f"{len(unfinished)} runs from an earlier console are unfinished: "
                    "press a to re-attach and follow them",
                    "warning",
                )
            )
        if record is not None and record.remaining_stages:
            events.append(Notice(f"{record.describe()}: press s to resume it", "warning"))
        if events:
            self.post_message(EngineBatch(tuple(events)))

    def _judged(self, outcomes: list[Any]) -> list[Any]:
        """Runs an earlier console finished, with the verdict the engine's history gives
        each against its node's earlier runs (what that console showed)."""
        if not outcomes or self.orchestrator is None or self.config is None:
            return outcomes
        import dataclasses

        from engine.analysis.history import load_history

        margin = self.config.settings.regression_margin
        history = load_history([self.orchestrator.store.root], margin)
        return [
            dataclasses.replace(ev, regression=history.regression_of(ev.run_dir)) for ev in outcomes
        ]

    async def on_unmount(self) -> None:
        gc.unfreeze()  # what was frozen at start-up may be collected again (tests run many apps)
        if self.bridge is not None:
            self.bridge.detach()
        if self.orchestrator is not None:
            await self.orchestrator.close()

    # --- engine -> views --------------------------------------------------------------------

    @property
    def main(self) -> MainScreen | None:
        stack = self.screen_stack
        screen = stack[0] if stack else None
        return screen if isinstance(screen, MainScreen) else None

    def on_engine_batch(self, message: EngineBatch) -> None:
        changes = self.state.apply_all(message.events)
        self._tell(changes)
        for run_id in changes.finished:
            self._load_run_summary(run_id)
        if self.main is not None:
            self.main.post_message(StateChanged(changes))

    def sync_views(self) -> None:
        """Have the main screen repaint itself from the state."""
        if self.main is not None:
            self.main.post_message(RepaintAll())

    def _tell(self, changes: Changes) -> None:
        """Notifications work on any screen."""
        for notice in changes.notices:
            if notice.level in ("warning", "error"):
                severity = "error" if notice.level == "error" else "warning"
                self.notify(notice.message, severity=severity, markup=False, timeout=8)
        if changes.reports is not None:
            paths = changes.reports
            md = [p for p in paths if p.endswith(".md")]
            reports_dir = self.config.settings.reports_dir if self.config else "?"
            self.notify(
                f"report exported: {len(paths)} files in {reports_dir}"
                + (f" (e.g. {md[-1]})" if md else ""),
                title="Export",
                markup=False,
                timeout=10,
            )
        if changes.plan_finished is not None:
            ev = changes.plan_finished
            self.notify(
                self.state.plan_note,
                severity="information" if ev.ok else "warning",
                markup=False,
            )

    def _load_run_summary(self, run_id: str) -> None:
        row = self.state.runs.get(run_id)
        if row is None:
            return
        run_dir = row.run_dir
        summary = row.summary

        def read() -> None:
            text, reason = read_loadgen_summary(run_dir)
            self.post_message(LoadgenSummaryText(run_id, text, reason))

        if summary is not None and not run_dir:
            self.post_message(LoadgenSummaryText(run_id, None, "no run dir"))
        else:
            self.run_worker(
                read,
                name=f"reading the LoadGen summary of {run_id}",
                thread=True,
                exit_on_error=False,
                group="summaries",
            )

    def on_loadgen_summary_text(self, message: LoadgenSummaryText) -> None:
        row = self.state.runs.get(message.run_id)
        if message.text is not None:
            entry = ("LoadGen summary (mlperf_log_summary.txt)", message.text)
        elif row is not None and row.summary is not None:
            entry = (f"run summary ({message.reason})", run_result_line(row.summary))
        else:
            return
        self.summaries[message.run_id] = entry
        if self.main is not None:
            self.main.post_message(LogSummary(message.run_id, *entry))

    # --- actions (keys, palette) ------------------------------------------------------------

    def selected_key(self) -> str | None:
        main = self.main
        return main.selected_key if main is not None else None

    def group_stage_names(self) -> list[str]:
        if self.config is None:
            return []
        return [s.name for s in self.config.plan.stages if s.group is not None]

    def _engine_call(
        self, name: str, call: Callable[[Any], Any], *, group: str = "engine"
    ) -> Worker[Any] | None:
        """Run `call(orchestrator)` (a coroutine) as a worker; its failure is notified."""
        if self.orchestrator is None:
            return None
        return self.run_worker(call(self.orchestrator), name=name, group=group, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One error path for every worker (engine calls, the journal, summary reads): a
        failure is shown, never dropped."""
        worker = event.worker
        if event.state == WorkerState.ERROR:
            err = worker.error
            text = str(err) if isinstance(err, MlconsoleError) else (f"{type(err).__name__}: {err}")
            self.post_message(ActionFailed(worker.name or worker.group, text))

    def on_action_failed(self, message: ActionFailed) -> None:
        self.notify(
            f"{message.action} failed: {message.message}",
            severity="error",
            markup=False,
            timeout=10,
        )

    def action_start_plan(self) -> None:
        self.start_stages(None)

    def start_stages(self, stages: Sequence[str] | None) -> None:
        if self.orchestrator is None:
            return
        if self.state.plan_running or self.workers_running("plan"):
            self.notify("a plan is already running; cancel runs first or wait", markup=False)
            return
        record = self.orchestrator.unfinished_plan() if stages is None else None
        if record is not None and record.remaining_stages:
            self._ask_resume(record)
            return
        self._start(stages)

    def _start(self, stages: Sequence[str] | None, *, resume: bool = False) -> None:
        what = "the plan" if stages is None else "stage " + ", ".join(stages)
        self.notify(f"{'resuming' if resume else 'starting'} {what}", markup=False, timeout=3)
        self.state.plan_running = True
        self._engine_call("start", lambda o: self._run_plan(o, stages, resume), group="plan")

    def _ask_resume(self, record: Any) -> None:
        """An earlier console left the plan unfinished: go on (finished stages and started
        runs skipped), or start it over only when asked to."""

        def answer(choice: str | None) -> None:
            if choice in ("resume", "over"):
                self._start(None, resume=choice == "resume")

        self.push_screen(
            ConfirmScreen(
                "Resume the plan?",
                f"{record.describe()}.\nResume: follow its unfinished runs, finish its group "
                "and run the remaining stages (finished ones are skipped). Start over: run "
                "every stage again, in new run dirs.",
                [
                    ("resume", "Resume", "primary"),
                    ("over", "Start over", "warning"),
                    ("stay", "Cancel", "default"),
                ],
            ),
            answer,
        )

    async def _run_plan(
        self, orchestrator: Any, stages: Sequence[str] | None, resume: bool = False
    ) -> None:
        try:
            if resume:
                await orchestrator.reattach(resume=True)
            else:
                await orchestrator.run_plan(list(stages) if stages else None)
        finally:
            self.state.plan_running = False

    def workers_running(self, group: str) -> bool:
        return any(w.group == group and not w.is_finished for w in self.workers)

    def action_start_group(self) -> None:
        key = self.selected_key()
        group = self.state.group_of(key) if key else None
        if group is None:
            self.notify("select a group (or one of its shards) to start its stage", markup=False)
            return
        name = group.name

        def answer(choice: str | None) -> None:
            if choice == "start":
                self.start_stages([name])

        self.push_screen(
            ConfirmScreen(
                f"Start stage {name}?",
                f"Start the group stage {name}: {len(group.nodes)} shards on "
                f"{', '.join(group.nodes)}, {group.total_samples} samples in all. "
                "Results go into a new group dir.",
                [("back", "Back", "primary"), ("start", f"Start {name}", "warning")],
            ),
            answer,
        )

    def action_sort(self, column: str) -> None:
        """N S O M: sort the runs table by a column (again: reverse)."""
        if self.main is not None:
            self.main.post_message(SortRuns(column))

    def action_filter(self) -> None:
        if self.main is not None:
            self.main.post_message(OpenFilter())

    def action_cancel_run(self) -> None:
        key = self.selected_key()
        if key is None:
            return
        if key in self.state.groups:
            targets = [
                s
                for s in self.state.groups[key].shards
                if s in self.state.runs and self.state.runs[s].live
            ]
        else:
            targets = [key] if key in self.state.runs and self.state.runs[key].live else []
        if not targets:
            self.notify(f"{key} is not running", markup=False)
            return
        message = (
            f"Cancel {', '.join(targets)}? The run's processes on its node are killed; "
            "what LoadGen wrote so far is kept in the run dir and the run is recorded "
            "as cancelled."
        )

        def answer(choice: str | None) -> None:
            if choice == "cancel":
                done = [t for t in targets if self.orchestrator.cancel(t)]
                self.notify(
                    f"cancelling {', '.join(done) or 'nothing (already ended)'}", markup=False
                )

        self.push_screen(
            ConfirmScreen(
                "Cancel run",
                message,
                [("keep", "Keep running", "primary"), ("cancel", "Cancel run", "error")],
            ),
            answer,
        )

    def action_rerun(self) -> None:
        key = self.selected_key()
        row = self.state.runs.get(key or "")
        if row is None:
            self.notify("select a run to re-run it", markup=False)
            return
        if row.live:
            self.notify(f"{row.run_id} is still running", markup=False)
            return
        busy = self.orchestrator.node_busy_with(row.node) if self.orchestrator else None
        if busy is not None:
            # Two harnesses on one node spoil both measurements: the engine queues it.
            self.notify(
                f"{row.node} is busy with {busy}: the re-run of {row.run_id} waits for it",
                markup=False,
                timeout=5,
            )
        else:
            self.notify(f"re-running {row.run_id} on {row.node}", markup=False, timeout=3)
        self._engine_call(f"re-run {row.run_id}", lambda o: o.rerun(row.run_id))

    def action_preflight(self) -> None:
        self._engine_call("preflight", lambda o: o.preflight())

    def action_export(self) -> None:
        if self._engine_call("export", lambda o: o.export_reports()):
            self.notify("exporting the report…", markup=False, timeout=3)

    def action_history(self) -> None:
        from console.tui.screens.history import HistoryScreen

        if self.config is not None:
            settings = self.config.settings
            self.push_screen(HistoryScreen(settings.results_dir, settings.regression_margin))

    def action_attach(self) -> None:
        self._engine_call("re-attach", lambda o: o.reattach())

    def action_details(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.show_details(key)

    @on(MainScreen.DetailsRequested)
    def _details_requested(self, message: MainScreen.DetailsRequested) -> None:
        self.show_details(message.key)

    def show_details(self, key: str) -> None:
        if key in self.state.groups:
            g = self.state.groups[key]
            self.push_screen(
                RunDetailsScreen(f"group {g.name}", group_details_text(g.summary, g.name, g.state))
            )
            return
        row = self.state.runs.get(key)
        if row is None:
            return
        said = settings_lines(row.settings) if row.settings is not None else []
        if row.progress_sources:
            said.append(row.progress_sources)
        text = run_details_text(
            row.summary,
            row.run_dir,
            row.state,
            [*said, ""] if said else [],
            row.completed,
            regression=row.regression,
        )
        self.push_screen(RunDetailsScreen(f"run {row.run_id}", text, row.run_dir))

    def action_toggle_side(self) -> None:
        if self.main is not None:
            self.main.post_message(ToggleSide())

    def action_toggle_dense_nodes(self) -> None:
        if self.main is not None:
            self.main.post_message(ToggleDenseNodes())

    def action_toggle_follow(self) -> None:
        if self.main is not None:
            self.main.post_message(ToggleFollow())

    def action_toggle_theme(self) -> None:
        names = self.theme_names or ["textual-dark", "textual-light"]
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2, markup=False)

    def action_log_view(self, what: str) -> None:
        """The keys that act on the log pane (`console.tui.actions`, panel "log")."""
        if self.main is not None:
            self.main.post_message(LogCommand(what))

    @on(MainScreen.PagerRequested)
    def _pager_requested(self, message: MainScreen.PagerRequested) -> None:
        said = open_in_pager(self, message.path)
        if said:
            self.notify(said, severity="warning", markup=False, timeout=8)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections()))

    async def action_quit(self) -> None:
        """ctrl+q asks too when runs are live."""
        await self.action_quit_console()

    async def action_quit_console(self) -> None:
        live = self.state.live_runs
        if self.orchestrator is not None:
            live = sorted(set(live) | set(self.orchestrator.live_runs))
        if not live:
            await self._leave(cancel=False)
            return
        shown = ", ".join(live[:6]) + ("…" if len(live) > 6 else "")
        config = self.config.source if self.config else "CONFIG"
        message = (
            f"{len(live)} {'run is' if len(live) == 1 else 'runs are'} live: {shown}.\n"
            "Quit, and they keep going on their nodes, detached (runs of the plan not yet "
            f"started will not start); `mlconsole attach {config}` (or `a` in a new console) "
            "follows them to their end and collects their results."
        )

        async def answer(choice: str | None) -> None:
            if choice in ("quit", "cancel"):
                await self._leave(cancel=choice == "cancel")

        self.push_screen(
            ConfirmScreen(
                "Quit with runs live?",
                message,
                [
                    ("stay", "Stay", "primary"),
                    ("quit", "Quit, runs go on", "warning"),
                    ("cancel", "Cancel runs, quit", "error"),
                ],
            ),
            answer,
        )

    async def _leave(self, *, cancel: bool) -> None:
        if cancel and self.orchestrator is not None:
            self.orchestrator.cancel_all()
            self.notify("cancelling live runs…", markup=False)
            plan = [w for w in self.workers if w.group in ("plan", "engine")]
            if plan:
                await self.workers.wait_for_complete(plan)
        self.exit(0)


def run_console(config_arg: str | None, theme: str | None) -> int:
    """Open the console on the config `config_arg` names (or the one `find_config` picks).
    A config error is shown on a screen, not raised; returns the exit code (2 for a config
    error, 0 otherwise)."""
    from engine.config.find import find_config
    from engine.config.load import load_config

    config: Config | None = None
    error: ConfigError | None = None
    note = ""
    try:
        path, note = find_config(config_arg)
        config = load_config(path)
    except ConfigError as err:
        error = err
    app = ConsoleApp(
        config, config_note=note, theme=theme, config_error=error, preflight_on_start=True
    )
    code = app.run()
    if error is not None:
        return error.exit_code
    return code if isinstance(code, int) else 0
