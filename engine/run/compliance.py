"""A compliance test's run: its audit.config placed in the harness's working directory for
that run only, removed as soon as the run ends (and on every way out: a failed launch, a
cancel, an error while following), then the verification script on the node, its output
kept in the run dir.

If the controller itself dies mid-run, the file stays; it carries mlconsole's marker line
(`engine.checks.compliance.MARKER`), so the next preflight on that node removes it and says so
(engine/run/preflight.py), while a foreign audit.config is only reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.checks.compliance import (
    AUDIT_FOUND,
    VERIFY_FILE,
    VERIFY_STDERR,
    ComplianceRecord,
    placed_text,
    verification_passed,
)
from engine.errors import LinkLost, MlconsoleError, TransportError
from engine.events import Notice
from engine.loadgen.files import LOADGEN_ACCURACY_FILE, LOADGEN_DETAIL_FILE
from engine.run.accuracy_step import shell_script
from engine.run.audit_config import AUDIT_CONFIG, audit_config_dir
from engine.run.templates import TemplateError, render_template
from engine.transport.base import Transport

if TYPE_CHECKING:
    from engine.run.runner import RunExecution

VERIFY_TIMEOUT_S = 1800.0


class ComplianceStep:
    """What one compliance run did with its audit.config and its verification."""

    def __init__(self, ex: RunExecution) -> None:
        assert ex.spec.compliance is not None
        self.ex = ex
        self.test = ex.spec.compliance
        self.placed_at: str | None = None
        self.removed: bool | None = None  # None: not tried yet
        self.removal_detail = ""
        self.verify: tuple[int | None, bool | None, tuple[str, ...], str] | None = None

    async def place(self, transport: Transport, directory: str) -> None:
        """Write the test's audit.config (with the marker line) where LoadGen will read it."""
        p = self.ex.placement
        assert p is not None
        path = f"{directory.rstrip('/')}/{AUDIT_CONFIG}"
        await transport.make_dirs(directory)
        text = placed_text(self.test.audit_config, p.run_dir.name, self.test.test)
        await transport.write_file(path, text.encode())
        self.placed_at = path

    async def remove(self, transport: Transport | None = None) -> None:
        """Remove the placed audit.config (once); a failure is recorded and said, never
        raised: the next preflight removes what is left."""
        if self.removed is not None:
            return
        ex = self.ex
        p = ex.placement
        try:
            transport = transport or await ex.ctx.transport(ex.node.name)
            if self.placed_at is None and p is not None and p.node_run_dir:
                home = (await transport.home()).rstrip("/")
                where = audit_config_dir(ex.node, ex.benchmark, ex.spec, home=home,
                                         run_dir=p.node_run_dir)  # fmt: skip
                self.placed_at = f"{where}/{AUDIT_CONFIG}" if where else None
            if self.placed_at is None:
                self.removed, self.removal_detail = True, ""
                return
            res = await transport.run(["rm", "-f", "--", self.placed_at], timeout=30)
            if res.exit_status != 0:
                raise TransportError(res.stderr.strip() or f"rm exited {res.exit_status}")
            self.removed = True
        except (LinkLost, TransportError, MlconsoleError, OSError) as exc:
            self.removed = False
            self.removal_detail = (
                f"could not remove {self.placed_at} on {ex.node.name} ({exc}); "
                "the next preflight of that node removes it"
            )
            ex.ctx.bus.publish(Notice(f"{ex.spec.run_id}: {self.removal_detail}", "warning"))

    async def run_verification(self, transport: Transport, log_dir: str, cwd: str) -> None:
        """The configured verification script, on the node, after the run; its output is
        kept as compliance_verify.txt in the run dir."""
        ex = self.ex
        command_t = self.test.verify_command
        if command_t is None or ex.rendered is None or ex.placement is None:
            return
        values = dict(ex.rendered.values)
        values.update(compliance_dir=log_dir, test=self.test.test, log_dir=log_dir,
                      accuracy_log=f"{log_dir.rstrip('/')}/{LOADGEN_ACCURACY_FILE}")  # fmt: skip
        try:
            command = render_template(command_t, values, quote=True)
        except TemplateError as exc:
            self.verify = (None, None, (), f"verify_command: {exc}")
            return
        try:
            res = await transport.run_shell(
                shell_script(command, cwd, ex.launch_env()), timeout=VERIFY_TIMEOUT_S
            )
        except (LinkLost, TransportError, MlconsoleError, OSError, TimeoutError) as exc:
            self.verify = (None, None, (), f"could not run the verification: {exc}")
            return
        run_dir = ex.placement.run_dir
        (run_dir / VERIFY_FILE).write_text(res.stdout)
        if res.stderr:
            (run_dir / VERIFY_STDERR).write_text(res.stderr)
        passed, lines = verification_passed(res.stdout, res.exit_status)
        detail = "" if res.exit_status == 0 else f"it exited with code {res.exit_status}"
        self.verify = (res.exit_status, passed, lines, detail)

    def record(self, run_dir: Path) -> ComplianceRecord:
        applied = None
        detail = run_dir / LOADGEN_DETAIL_FILE
        if detail.is_file():
            applied = AUDIT_FOUND in detail.read_text(encoding="utf-8", errors="replace")
        code, passed, lines, vdetail = self.verify or (None, None, (), "")
        if self.test.verify_command is not None and self.verify is None:
            vdetail = "not run: the run did not complete"
        return ComplianceRecord(
            test=self.test.test, source=self.test.source, placed_at=self.placed_at,
            removed=self.removed is True, removal_detail=self.removal_detail, applied=applied,
            verify_command=self.test.verify_command, verify_exit_code=code,
            verify_file=VERIFY_FILE if (run_dir / VERIFY_FILE).exists() else None,
            verify_passed=passed, verify_lines=lines, verify_detail=vdetail,
        )  # fmt: skip
