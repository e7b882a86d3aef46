"""STAND-IN for mlcommons/inference language/gpt-j/main.py with backend_PyTorch.py and
GPTJ_QSL.py (see tests/support/standins/README.md): the same flags, the same LoadGen set-up,
the same prints; the model is simulated.

What it reproduces of the reference, for mlconsole's tests:
- underscore flags (--user_conf, --audit_conf, --max_examples); LoadGen's model name fixed to
  "gptj"; `FromConfig(--user_conf, "gptj", --scenario)` after mlperf.conf, then the mode;
- the log directory from the LOG_PATH environment variable (default build/logs); the trace
  always on; the summary copied to stdout;
- Offline: `Number of Samples in query_samples :  N`, then a tqdm-style bar over the samples
  on stderr, redrawn with carriage returns; one sample generated at a time;
- Server and SingleStream: generation inside issue_queries (LoadGen's issue thread), one
  query at a time, `Completed :  N` on stdout every 5 samples; responses without token counts
  (mlperf.conf infers GPT-J's token latencies).
"""

import argparse
import array
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # tests/support/standins

import mlperf_loadgen as lg  # noqa: E402
from standin_sut import banner, speed  # noqa: E402

DATASET_SIZE = 13368


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", choices=["pytorch"], default="pytorch")
    p.add_argument("--scenario", choices=["SingleStream", "Offline", "Server"], default="Offline")
    p.add_argument("--model-path", default="EleutherAI/gpt-j-6B")
    p.add_argument("--dataset-path", default="./data/cnn_eval.json")
    p.add_argument("--accuracy", action="store_true")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--quantized", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--audit_conf", default="audit.conf")
    p.add_argument("--user_conf", default="user.conf")
    p.add_argument("--max_examples", type=int, default=13368)
    p.add_argument("--network", choices=["sut", "lon", None], default=None)
    return p.parse_args()


def answer(query_id, index):
    data = array.array("q", [index, 50256, 1, 2])
    ptr, _ = data.buffer_info()
    lg.QuerySamplesComplete([lg.QuerySampleResponse(query_id, ptr, len(data.tobytes()))])


class Offline:
    def __init__(self):
        self.done = 0

    def issue_queries(self, samples):
        print("Number of Samples in query_samples : ", len(samples), flush=True)
        n = len(samples)
        for i, s in enumerate(samples):
            time.sleep(1 / speed())
            answer(s.id, s.index)
            bar = "#" * (10 * (i + 1) // n)
            sys.stderr.write(f"\r{100 * (i + 1) // n:3d}%|{bar:<10}| {i + 1}/{n} [00:00<00:00]")
            sys.stderr.flush()
        sys.stderr.write("\n")


class Server:
    def __init__(self):
        self.done = 0

    def issue_queries(self, samples):
        for s in samples:  # on LoadGen's issue thread, as the reference does
            time.sleep(1 / speed())
            answer(s.id, s.index)
            self.done += 1
            if self.done % 5 == 0:
                print("Completed : ", self.done, flush=True)


def main():
    args = get_args()
    print(banner("language/gpt-j/main.py (PyTorch)"), flush=True)
    count = min(DATASET_SIZE, args.max_examples)
    print("Constructing QSL", flush=True)
    qsl = lg.ConstructQSL(count, count, lambda s: None, lambda s: None)
    print("Finished constructing QSL.", flush=True)
    sut_impl = Offline() if args.scenario == "Offline" else Server()
    sut = lg.ConstructSUT(sut_impl.issue_queries, lambda: None)
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, args.scenario)
    settings.FromConfig(args.user_conf, "gptj", args.scenario)
    settings.mode = lg.TestMode.AccuracyOnly if args.accuracy else lg.TestMode.PerformanceOnly
    log_path = os.environ.get("LOG_PATH") or "build/logs"
    os.makedirs(log_path, exist_ok=True)
    out = lg.LogOutputSettings()
    out.outdir = log_path
    out.copy_summary_to_stdout = True
    log_settings = lg.LogSettings()
    log_settings.log_output = out
    log_settings.enable_trace = True
    print("Running LoadGen test...", flush=True)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, args.audit_conf)
    print("Test Done!", flush=True)
    lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)


if __name__ == "__main__":
    main()
