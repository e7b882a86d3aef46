"""STAND-IN for mlcommons/inference language/llama3.1-8b/main.py with SUT_VLLM.py (see
tests/support/standins/README.md): the same flags, the same LoadGen set-up, the same logging;
vLLM is simulated.

What it reproduces of the reference, for mlconsole's tests:
- `settings.FromConfig(--user-conf, --lg-model-name, --scenario)` after LoadGen's built-in
  mlperf.conf, then the mode from `--accuracy`; QSL of min(dataset, --total-sample-count)
  samples, all loaded (perf count = total count);
- logging.basicConfig(level=INFO): `INFO:Llama-8B-SUT:Samples run: N` on stderr after each
  Offline batch (plus its timing lines); the Server SUT logs nothing per sample;
- LoadGen's trace only with `--enable-log-trace`; the summary copied to stdout;
- Server: `SUTServer.stop()` joins `self.ft_response_thread`, which `start()` never creates,
  so the run ends with an AttributeError after LoadGen wrote complete logs.
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # tests/support/standins

import mlperf_loadgen as lg  # noqa: E402
from standin_sut import BatchEngine, StreamEngine, banner  # noqa: E402

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("Llama-8B-MAIN")
sut_log = logging.getLogger("Llama-8B-SUT")


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", choices=["Offline", "Server", "SingleStream"], default="Offline")
    p.add_argument("--model-path", default="meta-llama/Meta-Llama-3.1-8B-Instruct")
    p.add_argument("--dataset-path", default=None)
    p.add_argument("--accuracy", action="store_true")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--audit-conf", default="audit.conf")
    p.add_argument("--user-conf", default="user.conf")
    p.add_argument("--total-sample-count", type=int, default=13368)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--output-log-dir", default="output-logs")
    p.add_argument("--enable-log-trace", action="store_true")
    p.add_argument("--num-workers", type=int, default=1)
    p.add_argument("--tensor-parallel-size", type=int, default=8)
    p.add_argument("--vllm", action="store_true")
    p.add_argument("--api-model-name", default="meta-llama/Meta-Llama-3.1-8B-Instruct")
    p.add_argument("--api-server", default=None)
    p.add_argument(
        "--lg-model-name", default="llama3_1-8b", choices=["llama3_1-8b", "llama3_1-8b-edge"]
    )
    return p.parse_args()


DATASET_SIZE = 13368  # cnn_eval.json; the stand-in reads no dataset


class SUT:
    def __init__(self, total_sample_count, batch_size):
        self.total = min(DATASET_SIZE, total_sample_count)
        self.qsl = lg.ConstructQSL(self.total, self.total, lambda s: None, lambda s: None)
        self.batch_size = batch_size
        self.engine = None

    def start(self):
        def ran(n):
            sut_log.info(f"Samples run: {n}")
            sut_log.info("\tBatchMaker time: 0.0")
            sut_log.info(f"\tInference time: {self.batch_size / 2000:.4f}")
            sut_log.info("\tPostprocess time: 0.0")

        self.engine = BatchEngine(self.batch_size, ran)

    def issue_queries(self, samples):
        sut_log.info(f"IssueQuery started with {len(samples)} samples")
        self.engine.issue(samples)
        sut_log.info("IssueQuery done")

    def flush_queries(self):
        pass

    def stop(self):
        self.engine.stop()


class SUTServer(SUT):
    def start(self):
        self.engine = StreamEngine()

    def issue_queries(self, samples):
        self.engine.issue(samples)

    def stop(self):
        self.engine.stop()
        self.ft_response_thread.join()  # the reference's shutdown bug, reproduced


def main():
    args = get_args()
    print(banner("language/llama3.1-8b/main.py (vLLM)"), flush=True)
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, args.scenario)
    settings.FromConfig(args.user_conf, args.lg_model_name, args.scenario)
    settings.mode = lg.TestMode.AccuracyOnly if args.accuracy else lg.TestMode.PerformanceOnly
    os.makedirs(args.output_log_dir, exist_ok=True)
    out = lg.LogOutputSettings()
    out.outdir = args.output_log_dir
    out.copy_summary_to_stdout = True
    log_settings = lg.LogSettings()
    log_settings.log_output = out
    log_settings.enable_trace = args.enable_log_trace
    if not args.vllm:
        raise NotImplementedError
    cls = {"Offline": SUT, "Server": SUTServer, "SingleStream": SUTServer}[args.scenario]
    sut = cls(args.total_sample_count, args.batch_size)
    time.sleep(float(os.environ.get("STANDIN_LOAD_S", "0")))  # model loading
    sut.start()
    lg_sut = lg.ConstructSUT(sut.issue_queries, sut.flush_queries)
    log.info("Starting Benchmark run")
    lg.StartTestWithLogSettings(lg_sut, sut.qsl, settings, log_settings, args.audit_conf)
    sut.stop()
    log.info("Run Completed!")
    lg.DestroySUT(lg_sut)
    lg.DestroyQSL(sut.qsl)


if __name__ == "__main__":
    main()
