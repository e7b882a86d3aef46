"""What the stand-in harnesses share: a simulated generation engine and LoadGen responses.

Standard library and mlperf_loadgen only (the stand-ins run as node programs)."""

from __future__ import annotations

import array
import os
import queue
import threading
import time

import mlperf_loadgen as lg

TOKENS = 8  # output tokens per sample


def speed() -> float:
    """Simulated samples per second of the stood-in engine (env STANDIN_SPEED)."""
    return float(os.environ.get("STANDIN_SPEED", "2000"))


def banner(what: str) -> str:
    return (
        f"STAND-IN for {what}: real LoadGen, simulated model (no GPU, no vLLM; "
        f"{speed():g} samples/s)"
    )


def _response(query_id: int, index: int, tokens: int, dtype: str = "i") -> tuple:
    data = array.array(dtype, [index] + [(index * 31 + i) % 32000 for i in range(tokens - 1)])
    return data, lg.QuerySampleResponse(
        query_id, data.buffer_info()[0], len(data.tobytes()), tokens
    )


class _Engine:
    """One worker thread answering what `issue` queues (None ends it); `done` counts samples.
    A subclass sets its own fields before calling `__init__`, which starts the worker."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.done = 0
        self.worker = threading.Thread(target=self._run, daemon=True)
        self.worker.start()

    def _run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.q.put(None)
        self.worker.join()


class BatchEngine(_Engine):
    """Offline-style: batches go through one worker; `on_batch(done)` runs after each."""

    def __init__(self, batch_size: int, on_batch, token_latencies: bool = True) -> None:
        self.batch_size = max(1, batch_size)
        self.on_batch = on_batch
        super().__init__()

    def issue(self, samples) -> None:
        items = [(s.id, s.index) for s in samples]
        for i in range(0, len(items), self.batch_size):
            self.q.put(items[i : i + self.batch_size])

    def _run(self) -> None:
        while (batch := self.q.get()) is not None:
            time.sleep(len(batch) / speed())
            keep = [_response(qid, idx, TOKENS) for qid, idx in batch]
            lg.QuerySamplesComplete([r for _, r in keep])
            self.done += len(batch)
            self.on_batch(self.done)


class StreamEngine(_Engine):
    """Server-style: one query at a time, first token then the rest (token latencies)."""

    def __init__(self, on_sample=None, first_token: bool = True) -> None:
        self.on_sample = on_sample
        self.first_token = first_token
        super().__init__()

    def issue(self, samples) -> None:
        for s in samples:
            self.q.put((s.id, s.index))

    def _run(self) -> None:
        while (item := self.q.get()) is not None:
            qid, idx = item
            time.sleep(0.25 / speed())
            if self.first_token:
                first, r = _response(qid, idx, 1)
                lg.FirstTokenComplete([r])
            time.sleep(0.75 / speed())
            data, r = _response(qid, idx, TOKENS)
            lg.QuerySamplesComplete([r])
            self.done += 1
            if self.on_sample is not None:
                self.on_sample(self.done)
