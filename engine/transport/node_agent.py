"""mlconsole's node agent: the one process an SSH connection keeps on a node.

The SSH transport starts it once per connection (one login, one SSH session) and feeds it
requests, one JSON object per line on stdin; it answers one JSON object per line on stdout,
each carrying the request's `id`. Short commands, file reads and writes, directory listings
and line streams (telemetry) all go through it, so a probe, a launch or a status poll costs
no new login shell, no new sshd session and no new process beyond the command itself.

It runs under the node's own Python with the standard library only, and is sent over the
channel's stdin rather than installed (`python -c` reads its length, then its source), so
nothing is left on the node and no copy can go stale. Compatible with Python 3.8 and later.

Requests work concurrently (file operations on a small pool, each command and stream on a
thread of its own), so a long cancel never holds up a status read. When stdin ends (the
connection dropped or the controller closed it) the agent ends its streams and exits; runs
started detached (`setsid`, see engine.transport.detach) are not its children and go on.

Protocol (version 1). Request: {"id": N, "op": NAME, ...}. Reply: {"id": N, ...fields} or
{"id": N, "error": TEXT}. Streams reply {"id": N, "line": TEXT} per line, then
{"id": N, "end": true, "exit": CODE}. Binary data travels base64-encoded.
"""

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading

PROTOCOL = 1
FILE_WORKERS = 4
# Errors that mean "nothing there (yet)": a read of them answers empty, as SFTP's did.
_ABSENT = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    ProcessLookupError,
)


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _unb64(text):
    return base64.b64decode(text.encode("ascii"))


def _exit_code(returncode):
    """A shell's convention: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Agent:
    def __init__(self, stdin, stdout):
        self.stdin = stdin
        self.stdout = stdout
        self.lock = threading.Lock()
        self.env = dict(os.environ)
        # File operations go to a few worker threads (a hung mount holds up one, not all);
        # commands and streams get a thread each.
        self.work = queue.Queue()
        for _ in range(FILE_WORKERS):
            threading.Thread(target=self.worker, daemon=True).start()
        self.streams = {}
        self.streams_lock = threading.Lock()

    # --- wire -------------------------------------------------------------------------------

    def send(self, msg):
        line = json.dumps(msg, separators=(",", ":")).encode("utf-8") + b"\n"
        with self.lock:
            self.stdout.write(line)
            self.stdout.flush()

    def reply(self, rid, fn, req):
        try:
            out = fn(req)
        except Exception as exc:  # every failure goes back as words, never kills the agent
            out = {"error": f"{type(exc).__name__}: {exc}"}
        out["id"] = rid
        try:
            self.send(out)
        except (BrokenPipeError, OSError, ValueError):
            pass

    def serve(self):
        self.send(
            {
                "hello": PROTOCOL,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
                "home": os.path.realpath(os.path.expanduser("~")),
            }
        )
        for raw in self.stdin:
            try:
                req = json.loads(raw)
                rid = req["id"]
                op = req["op"]
            except (ValueError, KeyError, TypeError):
                continue
            if op == "stop":
                self.stop_stream(req.get("target"))
                continue
            if op == "stream":
                threading.Thread(target=self.stream, args=(rid, req), daemon=True).start()
                continue
            fn = getattr(self, "op_" + str(op), None)
            if fn is None:
                self.send({"id": rid, "error": f"unknown op {op!r}"})
            elif op == "sh":
                threading.Thread(target=self.reply, args=(rid, fn, req), daemon=True).start()
            else:
                self.work.put((rid, fn, req))
        self.shutdown()

    def worker(self):
        while True:
            rid, fn, req = self.work.get()
            self.reply(rid, fn, req)

    def shutdown(self):
        with self.streams_lock:
            procs = list(self.streams.values())
        for proc in procs:
            _kill_group(proc, signal.SIGTERM)

    # --- operations --------------------------------------------------------------------------

    def op_env(self, req):
        """The node's `env` entries, for every later command and stream (never on a command
        line, so no `ps` on the node shows them)."""
        self.env = dict(os.environ)
        self.env.update(req.get("env") or {})
        return {}

    def op_sh(self, req):
        env = self.env
        if req.get("env"):
            env = dict(env)
            env.update(req["env"])
        timeout = float(req.get("limit") or 30.0)
        proc = subprocess.Popen(
            ["sh", "-c", req["script"]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own group, so a timeout ends all of it
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            code = _exit_code(proc.returncode)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=2.0)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                out, err = proc.communicate()
            code, timed_out = 124, True
        return {
            "exit": code,
            "out": out.decode("utf-8", "replace"),
            "err": err.decode("utf-8", "replace"),
            "timed_out": timed_out,
        }

    def op_read(self, req):
        try:
            with open(req["path"], "rb") as f:
                f.seek(int(req.get("offset") or 0))
                data = f.read(int(req.get("max") or 1 << 20))
        except _ABSENT:
            data = b""
        return {"data": _b64(data)}

    def op_size(self, req):
        try:
            return {"size": os.stat(req["path"]).st_size}
        except _ABSENT:
            return {"size": None}

    def op_list(self, req):
        files = {}
        try:
            with os.scandir(req["path"]) as it:
                for entry in it:
                    if entry.is_file(follow_symlinks=False):
                        files[entry.name] = entry.stat(follow_symlinks=False).st_size
        except _ABSENT:
            pass
        return {"files": files}

    def op_write(self, req):
        path = req["path"]
        mode = int(req.get("mode") or 0o644)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(_unb64(req.get("data") or ""))
        os.chmod(path, mode)  # an existing file keeps its old mode through O_CREAT
        return {}

    def op_mkdirs(self, req):
        os.makedirs(req["path"], exist_ok=True)
        return {}

    # --- streams ------------------------------------------------------------------------------

    def stream(self, rid, req):
        try:
            proc = subprocess.Popen(
                list(req["argv"]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.send({"id": rid, "end": True, "exit": 127, "error": str(exc)})
            return
        with self.streams_lock:
            self.streams[rid] = proc
        try:
            for raw in proc.stdout:
                self.send({"id": rid, "line": raw.decode("utf-8", "replace").rstrip("\r\n")})
        except (BrokenPipeError, OSError, ValueError):
            _kill_group(proc, signal.SIGTERM)
        finally:
            proc.stdout.close()
            code = _exit_code(proc.wait())
            with self.streams_lock:
                self.streams.pop(rid, None)
        try:
            self.send({"id": rid, "end": True, "exit": code})
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop_stream(self, target):
        with self.streams_lock:
            proc = self.streams.get(target)
        if proc is not None:
            _kill_group(proc, signal.SIGTERM)


def main():
    # Keep the protocol's channel to ourselves: a child that inherited stdout could write
    # into it, so the agent's own stdin/stdout move to private descriptors and the standard
    # ones are pointed at /dev/null (children also get DEVNULL or pipes explicitly).
    stdin = os.fdopen(os.dup(0), "rb")
    stdout = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    Agent(stdin, stdout).serve()


if __name__ == "__main__":
    main()
