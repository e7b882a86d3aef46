"""The settings probe: asks the node's own LoadGen what a run will issue, without running it.

This file is a program that runs on a node, under the node's Python, with the standard library
and `mlperf_loadgen` only (an import contract checks it). mlconsole sends its text through the
transport (`python -c <this file> <requests JSON>`), so nothing has to be installed on the node.

For each request it does what an MLCommons reference harness does before its run starts
(`language/llama3.1-8b/main.py`: a TestSettings, the scenario, `FromConfig(user.conf, model,
scenario)`, which loads LoadGen's built-in mlperf.conf first, then the mode), hands LoadGen a
QSL of the requested size and a SUT that never answers, and reads LoadGen's detail log until
it holds the `generated_*` lines (LoadGen writes them within milliseconds of StartTest, before
the first query is issued; mlperf-facts.md 2.2). Then the child process ends itself: no
sample is ever processed, and a Server schedule of ten minutes costs nothing.

Each request runs in a forked child (a LoadGen test cannot be abandoned halfway and another
started in the same process). Output: one JSON object per request on stdout, one per line.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time

DETAIL = "mlperf_log_detail.txt"
WAIT_S = 20.0
PARALLEL = 4
# What the reference harness hands to StartTest, by TestSettings attribute (reported as set
# after FromConfig, and as a fresh TestSettings has them, to tell mlperf.conf from defaults).
ATTRIBUTES = (
    "min_duration_ms",
    "max_duration_ms",
    "min_query_count",
    "max_query_count",
    "performance_sample_count_override",
    "accuracy_sample_count_override",
    "sample_concatenate_permutation",
    "server_target_qps",
    "offline_expected_qps",
    "single_stream_expected_latency_ns",
    "multi_stream_expected_latency_ns",
    "multi_stream_samples_per_query",
    "use_token_latencies",
    "infer_token_latencies",
)
_KEEP = ("loadgen_version", "requested_", "effective_", "generated_", "qsl_reported_")


def _plain(value):
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _read_detail(path):
    """The first value of each key we keep, errors and warnings, and whether the generated_*
    block is complete, from the detail log as far as LoadGen has written it."""
    values, errors, warnings = {}, [], []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return values, errors, warnings, False
    for line in text.splitlines():
        if not line.endswith("}") or '"loaded_qsl_set"' in line:
            continue
        try:
            obj = json.loads(line.split(" ", 1)[1])
        except (IndexError, ValueError):
            continue
        key = obj.get("key", "")
        meta = obj.get("metadata") or {}
        if meta.get("is_error"):
            errors.append([key, _plain(obj.get("value"))])
        elif meta.get("is_warning"):
            warnings.append([key, _plain(obj.get("value"))])
        if key.startswith(_KEEP) and key not in values:
            values[key] = _plain(obj.get("value"))
    done = "generated_query_duration" in values
    return values, errors, warnings, done


def _child(request, out_fd):
    """Runs in the forked child: set up LoadGen as the harness would, report, and end."""
    import mlperf_loadgen as lg

    outdir = tempfile.mkdtemp(prefix="mlconsole-probe-")
    result = {"id": request["id"]}

    def report(extra):
        result.update(extra)
        os.write(out_fd, (json.dumps(result) + "\n").encode())
        shutil.rmtree(outdir, ignore_errors=True)
        os._exit(0)

    try:
        defaults = lg.TestSettings()
        settings = lg.TestSettings()
        settings.scenario = getattr(lg.TestScenario, request["scenario"])
        rc = None
        if request.get("user_conf") is not None:
            conf = os.path.join(outdir, "user.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(request["user_conf"])
            rc = settings.FromConfig(conf, request["model"], request["scenario"])
        if request["mode"] == "accuracy":
            settings.mode = lg.TestMode.AccuracyOnly
        else:
            settings.mode = lg.TestMode.PerformanceOnly
        result["fromconfig_rc"] = rc
        result["settings"] = {a: _plain(getattr(settings, a)) for a in ATTRIBUTES}
        result["defaults"] = {a: _plain(getattr(defaults, a)) for a in ATTRIBUTES}
        log_settings = lg.LogSettings()
        log_settings.log_output.outdir = outdir
        log_settings.enable_trace = False
    except Exception as exc:  # noqa: BLE001 - the node's LoadGen refused: say how
        report({"error": f"{type(exc).__name__}: {exc}"})

    def watch():
        path = os.path.join(outdir, DETAIL)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            values, errors, warnings, done = _read_detail(path)
            if done:
                report({"detail": values, "errors": errors, "warnings": warnings})
            time.sleep(0.005)
        report({"error": f"LoadGen logged no generated_* lines within {WAIT_S:g} s"})

    threading.Thread(target=watch, daemon=True).start()
    total = int(request["total"])
    performance = int(request.get("performance") or total)
    sut = lg.ConstructSUT(lambda samples: None, lambda: None)
    qsl = lg.ConstructQSL(total, performance, lambda s: None, lambda s: None)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, "")
    # StartTest returned: the test ended before its settings were read (an empty schedule).
    time.sleep(0.05)
    values, errors, warnings, done = _read_detail(os.path.join(outdir, DETAIL))
    report({"detail": values, "errors": errors, "warnings": warnings})


def _run_one(request):
    """Fork a child for one request; return (pid, read end of its pipe)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _child(request, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid, read_fd, request):
    chunks = []
    while True:
        data = os.read(read_fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if text:
        return text
    code = os.waitstatus_to_exitcode(status)
    return json.dumps({"id": request["id"], "error": f"the probe process ended with {code}"})


def main(argv):
    try:
        requests = json.loads(argv[0])
    except (IndexError, ValueError):
        print(json.dumps({"error": "usage: program REQUESTS_JSON"}))
        return 2
    try:
        import mlperf_loadgen  # noqa: F401  (fail once, here, rather than in every child)
    except Exception as exc:  # noqa: BLE001
        for request in requests:
            print(json.dumps({"id": request["id"], "error": f"LoadGen does not import: {exc}"}))
        return 0
    pending = list(requests)
    running = []
    while pending or running:
        while pending and len(running) < PARALLEL:
            request = pending.pop(0)
            running.append((request, *_run_one(request)))
        request, pid, read_fd = running.pop(0)
        print(_collect(pid, read_fd, request), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
