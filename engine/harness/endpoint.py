"""A SIMULATED OpenAI-compatible inference endpoint, shaped like `vllm serve`.

    python -m engine.harness.endpoint --port 8000 --model demo-llm --tokens-per-s 400

No model runs and no GPU is used: each request holds one of `--concurrency` batch slots and
streams deterministic token ids at the simulated rate (`engine.harness.endpoint_model`). The
HTTP surface follows vLLM's, so mlconsole's fleet client is tested against the API it will
meet on a GPU node, not against a private one:

- `GET /health`: 200 with an empty body (503 while the `unhealthy` fault is set).
- `GET /v1/models`: `{object: "list", data: [{id, object: "model", owned_by, root,
  max_model_len}]}`; `owned_by` is "mlconsole-simulated".
- `POST /v1/completions`: `prompt` as token ids or text, one prompt per request; `max_tokens`
  defaults to 16 as in vLLM; `stream` with `stream_options.include_usage` (a 400 without
  `stream`), `return_token_ids`. Streamed as `text/event-stream` in chunked encoding:
  `data: <chunk>` events (`text_completion` objects whose last token chunk has
  `finish_reason`), then a usage chunk with empty `choices` when asked for, then
  `data: [DONE]`. Errors are vLLM's `{error: {message, type, param, code}}`.
- `GET /metrics`: a few of vLLM's Prometheus gauges and counters, for the console.
- `GET /simulation` and `POST /simulation` (not vLLM's): the simulated state, and a way to
  change `speed` mid-run or set a fault (`html`, `http500`, `cut`, `unhealthy`) for
  `fault_count` requests (-1: until cleared).

Every response carries `x-mlconsole-simulated: true`, chunks carry
`system_fingerprint: "mlconsole-simulated"`, and the first stdout line says it is simulated.
Standard library only, so it runs on any node with Python 3.11.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

from engine.harness import http_framing as http
from engine.harness.cli_args import non_negative_float, positive_float
from engine.harness.endpoint_model import (
    Rates,
    SimulatedModel,
    output_ids,
    prompt_seed,
    sleep_until,
)

_NAME = "mlconsole simulated endpoint"
FINGERPRINT = "mlconsole-simulated"
KEEP_ALIVE_S = 5.0  # uvicorn's default idle timeout, which vLLM inherits
MAX_BODY = 64 << 20
FAULTS = ("html", "http500", "cut", "unhealthy")
_HTML_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx (simulated by mlconsole)</center></body></html>\n"
)
class Endpoint:
    """One served model and its fault switches."""

    def __init__(self, model: str, rates: Rates, stream_interval: int, max_model_len: int) -> None:
        self.model_name = model
        self.sim = SimulatedModel(rates)
        self.stream_interval = max(1, stream_interval)
        self.max_model_len = max_model_len
        self.fault: str | None = None
        self.fault_count = 0
        self._seq = 0

    def take_fault(self, kinds: tuple[str, ...]) -> str | None:
        """The fault to apply to this request, if one of `kinds` is set (counts it down)."""
        if self.fault not in kinds:
            return None
        fault = self.fault
        if self.fault_count > 0:
            self.fault_count -= 1
            if self.fault_count == 0:
                self.fault = None
        return fault

    def next_id(self) -> str:
        self._seq += 1
        return f"cmpl-sim{os.getpid():x}{self._seq:08x}"


# --- the completion ----------------------------------------------------------------------------


def _prompt_of(body: dict) -> tuple[object, int] | str:
    """(prompt, prompt token count) or an error sentence."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], list | str):
        prompt = prompt[0]
    if isinstance(prompt, str):
        return prompt, max(1, len(prompt.split()))
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return prompt, len(prompt)
    if isinstance(prompt, list) and prompt:
        return "the simulated endpoint serves one prompt per request"
    return "prompt must be a string or a non-empty list of token ids"


async def _complete(ep: Endpoint, body: dict, writer: asyncio.StreamWriter, arrived: float) -> bool:
    """Serve one completion; False when the connection must close afterwards."""
    got = _prompt_of(body)
    if isinstance(got, str):
        writer.write(http.error(400, got))
        return True
    prompt, prompt_tokens = got
    model = body.get("model")
    if model is not None and model != ep.model_name:
        writer.write(http.error(404, f"The model `{model}` does not exist.", "NotFoundError"))
        return True
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    if options is not None and not stream:
        writer.write(http.error(400, "Stream options can only be defined when `stream=True`."))
        return True
    max_tokens = body.get("max_tokens", 16)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        writer.write(http.error(400, "max_tokens must be at least 1"))
        return True
    if prompt_tokens + max_tokens > ep.max_model_len:
        writer.write(
            http.error(400, f"This model's maximum context length is {ep.max_model_len} tokens.")
        )
        return True
    fault = ep.take_fault(("html", "http500", "cut"))
    if fault == "html":
        writer.write(http.response(502, _HTML_PAGE, "text/html", close=True))
        return False
    if fault == "http500":
        writer.write(http.error(500, "simulated internal error", "InternalServerError"))
        return True
    include_usage = stream and isinstance(options, dict) and bool(options.get("include_usage"))
    want_ids = bool(body.get("return_token_ids"))
    ids = output_ids(prompt_seed(prompt), max_tokens)
    sim = ep.sim
    rid, created = ep.next_id(), int(time.time())
    await sim.acquire()
    try:
        sim.requests_total += 1
        sim.prompt_tokens_total += prompt_tokens
        t = time.monotonic() + sim.prefill_step_s()
        if not stream:
            for _ in ids[1:]:
                t += sim.step_s()
            await sleep_until(t)
            sim.generation_tokens_total += len(ids)
            sim.ttft_s.append(time.monotonic() - arrived)
            choice = {"index": 0, "text": _text(ids), "logprobs": None, "finish_reason": "length"}
            if want_ids:
                choice["token_ids"] = ids
            usage = _usage(prompt_tokens, len(ids))
            whole = _completion(
                ep, rid, created, [choice], usage=usage, system_fingerprint=FINGERPRINT
            )
            writer.write(http.json_response(200, whole))
            return True
        writer.write(
            http.head(
                200,
                [
                    ("content-type", "text/event-stream; charset=utf-8"),
                    ("transfer-encoding", "chunked"),
                ],
            )
        )
        sent = 0
        first = True
        while sent < len(ids):
            # The first chunk goes as soon as the first token exists; later ones carry
            # `stream_interval` tokens each, like vLLM's --stream-interval.
            n = 1 if first else min(ep.stream_interval, len(ids) - sent)
            await sleep_until(t)
            part = ids[sent : sent + n]
            sent += n
            if first:
                sim.ttft_s.append(time.monotonic() - arrived)
                first = False
            if fault == "cut" and sent > len(ids) // 2:
                await writer.drain()
                writer.transport.abort()
                return False
            choice = {
                "index": 0,
                "text": _text(part),
                "logprobs": None,
                "finish_reason": "length" if sent >= len(ids) else None,
                "stop_reason": None,
            }
            if want_ids:
                choice["token_ids"] = part
            writer.write(http.event(_completion(ep, rid, created, [choice])))
            sim.generation_tokens_total += n
            for _ in range(min(ep.stream_interval, len(ids) - sent)):
                t += sim.step_s()
            await writer.drain()
        if include_usage:
            usage = _usage(prompt_tokens, len(ids))
            writer.write(
                http.event(
                    _completion(ep, rid, created, [], usage=usage, system_fingerprint=FINGERPRINT)
                )
            )
        writer.write(http.DONE)
        return True
    finally:
        sim.release()


def _completion(ep: Endpoint, rid: str, created: int, choices: list, **more: object) -> dict:
    """A `text_completion` object (a whole answer, or one streamed chunk) with `choices`, then
    `more` (usage, system_fingerprint) in that order."""
    return {
        "id": rid, "object": "text_completion", "created": created, "model": ep.model_name,
        "choices": choices, **more,
    }  # fmt: skip


def _text(ids: list[int]) -> str:
    return "".join(f" w{i % 997}" for i in ids)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


# --- routes ------------------------------------------------------------------------------------


def _metrics(ep: Endpoint) -> bytes:
    s = ep.sim
    label = f'{{model_name="{ep.model_name}",engine="0"}}'
    lines = [
        "# mlconsole simulated endpoint: these figures describe a SIMULATED server",
        f"vllm:num_requests_running{label} {s.running}",
        f"vllm:num_requests_waiting{label} {s.waiting}",
        f"vllm:kv_cache_usage_perc{label} {s.running / s.rates.concurrency:.4f}",
        f"vllm:prompt_tokens_total{label} {s.prompt_tokens_total}",
        f"vllm:generation_tokens_total{label} {s.generation_tokens_total}",
        f"vllm:request_success_total{label} {s.requests_total}",
    ]
    return http.response(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")


def _simulation(ep: Endpoint, method: str, body: bytes) -> bytes:
    if method == "POST":
        try:
            change = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return http.error(400, "the body must be a JSON object")
        if not isinstance(change, dict):
            return http.error(400, "the body must be a JSON object")
        if "speed" in change:
            speed = change["speed"]
            if not isinstance(speed, int | float) or isinstance(speed, bool) or speed <= 0:
                return http.error(400, "speed must be a number > 0")
            ep.sim.speed = float(speed)
        if "fault" in change:
            fault = change["fault"]
            if fault is not None and fault not in FAULTS:
                return http.error(400, f"fault must be null or one of {', '.join(FAULTS)}")
            ep.fault = fault
            count = change.get("fault_count", -1)
            ep.fault_count = count if isinstance(count, int) else -1
    state = {**ep.sim.stats(), "fault": ep.fault, "fault_count": ep.fault_count}
    return http.json_response(200, state)


async def _handle(ep: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), KEEP_ALIVE_S)
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            arrived = time.monotonic()
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                writer.write(http.error(400, "malformed request line"))
                return
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                writer.write(http.error(413, "request body too large"))
                return
            body = await reader.readexactly(length) if length else b""
            keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
            path = target.split("?", 1)[0]
            ok = await _route(ep, method, path, body, writer, arrived)
            await writer.drain()
            if not (ok and keep):
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        if not writer.transport.is_closing():
            writer.close()


async def _route(
    ep: Endpoint,
    method: str,
    path: str,
    body: bytes,
    writer: asyncio.StreamWriter,
    arrived: float,
) -> bool:
    if path == "/health" and method == "GET":
        if ep.take_fault(("unhealthy",)):
            writer.write(http.response(503, b"", "application/json"))
        else:
            writer.write(http.response(200, b"", "application/json"))
        return True
    if path == "/v1/models" and method == "GET":
        model = {
            "id": ep.model_name,
            "object": "model",
            "created": 0,
            "owned_by": FINGERPRINT,
            "root": ep.model_name,
            "parent": None,
            "max_model_len": ep.max_model_len,
        }
        writer.write(http.json_response(200, {"object": "list", "data": [model]}))
        return True
    if path == "/v1/completions" and method == "POST":
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            writer.write(http.error(400, "the request body is not JSON"))
            return True
        if not isinstance(parsed, dict):
            writer.write(http.error(400, "the request body must be a JSON object"))
            return True
        return await _complete(ep, parsed, writer, arrived)
    if path == "/metrics" and method == "GET":
        writer.write(_metrics(ep))
        return True
    if path == "/simulation" and method in ("GET", "POST"):
        writer.write(_simulation(ep, method, body))
        return True
    if path in ("/health", "/v1/models", "/v1/completions", "/metrics", "/simulation"):
        writer.write(http.error(405, "Method Not Allowed"))
        return True
    writer.write(http.error(404, "Not Found", "NotFoundError"))
    return True


# --- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m engine.harness.endpoint",
        description="A SIMULATED OpenAI-compatible endpoint shaped like `vllm serve` "
        "(no model, no GPU).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    p.add_argument("--port-file", default=None, help="write the port listened on to FILE")
    p.add_argument("--model", default="simulated-llm", help="the served model name")
    p.add_argument("--tokens-per-s", type=positive_float, default=400.0, help="with all slots busy")
    p.add_argument("--concurrency", type=int, default=8, help="batch slots (default 8)")
    p.add_argument(
        "--prefill-ms", type=non_negative_float, default=20.0, help="time to first token"
    )
    p.add_argument("--stream-interval", type=int, default=1, help="tokens per streamed chunk")
    p.add_argument("--max-model-len", type=int, default=131072)
    p.add_argument(
        "--load-time", type=non_negative_float, default=0.0, help="seconds before listening"
    )
    return p


async def serve(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise SystemExit(f"{_NAME}: error: --concurrency must be >= 1")
    rates = Rates(args.tokens_per_s, args.concurrency, args.prefill_ms / 1000.0)
    ep = Endpoint(args.model, rates, args.stream_interval, args.max_model_len)
    _say(
        f"{_NAME}: SIMULATED server (no model, no GPU): model {args.model}, "
        f"{args.tokens_per_s:g} tokens/s with {args.concurrency} slots busy, "
        f"prefill {args.prefill_ms:g} ms, {ep.stream_interval} token(s) per chunk"
    )
    if args.load_time:
        _say(f"loading simulated model ({args.load_time:g} s)")
        await asyncio.sleep(args.load_time)
    server = await asyncio.start_server(
        lambda r, w: _handle(ep, r, w), args.host, args.port, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    _say(f"listening on http://{args.host}:{port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()  # open streams are cancelled with the loop: a stop is prompt
    _say("stopped")


def _say(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as e:
        sys.stderr.write(f"{_NAME}: error: cannot listen on {args.host}:{args.port}: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
