"""The wire format of an OpenAI-compatible completions server, as vLLM implements it.

Pure functions and small types, no I/O, so the client, the tests and the bench share one
reading of the API. What this follows (vLLM `entrypoints/openai/completion/{protocol,serving}.py`,
`benchmarks/lib/endpoint_request_func.py`; see docs/fleet.md):

- The request: `prompt` is a list of token ids (one prompt per request: the Network
  division's QDL may not batch); `max_tokens` and sampling are always sent, since vLLM's
  `max_tokens` default is 16 and its temperature comes from the model's generation_config;
  `stream` with `stream_options.include_usage` so a final usage chunk comes; and, unless the
  server rejects unknown fields (trtllm-serve), `return_token_ids` so each chunk names the
  ids it carries (a chunk is not a token: one may carry several).
- The stream: `text/event-stream`; events are `data: <json>` separated by a blank line;
  lines starting with ':' are comments (keep-alive pings); it ends with `data: [DONE]`.
  A chunk with non-empty `choices` is output (its `text` may be ""); the usage chunk has
  empty `choices`. A failure after status 200 arrives as an `{error: ...}` event.
- Errors: `{error: {message, type, param, code}}`, or the older flat `{object: "error",
  message, type, code}`, or `{"error": "..."}` (trtllm validation).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import Generation

COMPLETIONS_PATH = "/v1/completions"
MODELS_PATH = "/v1/models"
HEALTH_PATH = "/health"
EVENT_STREAM = "text/event-stream"
DONE = "[DONE]"


@dataclass(frozen=True)
class Sampling(Generation):
    """What every request says explicitly about generation (`engine.model.Generation`: server
    defaults differ), and the wire format's own asks."""

    return_token_ids: bool = True
    extra: Mapping[str, Any] | None = None


class BodyTemplate:
    """Request bodies for one model and sampling: the prompt (JSON bytes of its id list) is
    spliced between fixed bytes, so no JSON is built per query on the issue path."""

    def __init__(self, model: str | None, sampling: Sampling) -> None:
        fields: dict[str, Any] = {"max_tokens": sampling.max_tokens}
        for key in ("min_tokens", "temperature", "top_p", "top_k", "seed"):
            value = getattr(sampling, key)
            if value is not None:
                fields[key] = value
        fields["stream"] = True
        fields["stream_options"] = {"include_usage": True}
        if sampling.return_token_ids:
            fields["return_token_ids"] = True
        if sampling.extra:
            fields.update(sampling.extra)
        fields.pop("prompt", None)
        fields.pop("model", None)
        self.fields = fields
        head = "{"
        if model is not None:
            head += '"model":' + json.dumps(model) + ","
        self._head = (head + '"prompt":').encode()
        self._tail = ("," + json.dumps(fields, separators=(",", ":"))[1:]).encode()

    def body(self, prompt_json: bytes) -> bytes:
        return self._head + prompt_json + self._tail


def completion_body(model: str | None, prompt: list[int], sampling: Sampling) -> bytes:
    """The JSON body of one streaming completion request for one prompt."""
    return BodyTemplate(model, sampling).body(json.dumps(prompt, separators=(",", ":")).encode())


# --- the event stream --------------------------------------------------------------------------


class SseDecoder:
    """Incremental `text/event-stream` decoder: bytes in, the `data` of whole events out.

    Handles events split across reads, CRLF or LF line ends, several `data:` lines in one
    event (joined by newlines, as the SSE spec says) and comment lines.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._data: list[str] = []

    def feed(self, raw: bytes) -> list[str]:
        text = self._buffer + self._decoder.decode(raw)
        out: list[str] = []
        start = 0
        while True:
            end = text.find("\n", start)
            if end < 0:
                break
            line = text[start:end]
            start = end + 1
            if line.endswith("\r"):
                line = line[:-1]
            if not line:
                if self._data:
                    out.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "data":
                self._data.append(value[1:] if value.startswith(" ") else value)
        self._buffer = text[start:]
        return out

    def close(self) -> list[str]:
        """An event the stream ended without its blank line (still delivered)."""
        tail = self.feed(b"\n\n") if (self._buffer or self._data) else []
        return tail


@dataclass(frozen=True)
class Chunk:
    """One streamed event, read. `output` is True for a chunk with non-empty choices."""

    output: bool
    text: str = ""
    token_ids: tuple[int, ...] | None = None
    finish_reason: str | None = None
    usage_completion_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    error: str | None = None


class NotApiError(ValueError):
    """The bytes are not what an OpenAI-compatible server sends; `str()` says what they were."""


def parse_chunk(data: str) -> Chunk:
    """One event's data (not `[DONE]`) as a Chunk; NotApiError when it is not API JSON."""
    try:
        obj = json.loads(data)
    except json.JSONDecodeError:
        raise NotApiError(f"a stream event is not JSON: {data[:80]!r}") from None
    if not isinstance(obj, dict):
        raise NotApiError(f"a stream event is not a JSON object: {data[:80]!r}")
    message = error_message(obj)
    if message is not None:
        return Chunk(output=False, error=message)
    choices = obj.get("choices")
    usage = obj.get("usage")
    completion = prompt = None
    if isinstance(usage, dict):
        completion = _int_or_none(usage.get("completion_tokens"))
        prompt = _int_or_none(usage.get("prompt_tokens"))
    if not isinstance(choices, list):
        if usage is None:
            raise NotApiError(f"a stream event has neither choices nor usage: {data[:80]!r}")
        return Chunk(False, usage_completion_tokens=completion, usage_prompt_tokens=prompt)
    if not choices:
        return Chunk(False, usage_completion_tokens=completion, usage_prompt_tokens=prompt)
    choice = choices[0] if isinstance(choices[0], dict) else {}
    text = choice.get("text")
    if text is None and isinstance(choice.get("delta"), dict):  # a chat chunk
        text = choice["delta"].get("content")
    ids = choice.get("token_ids")
    token_ids = (
        tuple(i for i in ids if isinstance(i, int) and not isinstance(i, bool))
        if isinstance(ids, list)
        else None
    )
    finish = choice.get("finish_reason")
    return Chunk(
        True,
        text=text if isinstance(text, str) else "",
        token_ids=token_ids,
        finish_reason=finish if isinstance(finish, str) else None,
        usage_completion_tokens=completion,
        usage_prompt_tokens=prompt,
    )


def _int_or_none(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def error_message(obj: Mapping[str, Any]) -> str | None:
    """The message of an API error object in any of the three shapes servers use, else None."""
    err = obj.get("error")
    if isinstance(err, dict):
        msg = err.get("message") or err.get("type") or "error"
        code = err.get("code")
        return f"{msg} (code {code})" if code is not None else str(msg)
    if isinstance(err, str):
        return err
    if obj.get("object") == "error":
        msg = obj.get("message") or obj.get("type") or "error"
        code = obj.get("code")
        return f"{msg} (code {code})" if code is not None else str(msg)
    return None


def error_body_message(body: bytes, content_type: str) -> str:
    """A short sentence for a non-200 answer: the API's error message, else what came."""
    if "json" in content_type:
        try:
            obj = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict) and (msg := error_message(obj)) is not None:
            return msg
    return describe_body(body, content_type)


def describe_body(body: bytes, content_type: str) -> str:
    """What a body that is not the API looks like, for an error sentence."""
    text = body[:2000].decode("utf-8", "replace")
    kind = content_type.split(";")[0].strip() or "no content type"
    if "<html" in text.lower() or "<!doctype" in text.lower() or kind == "text/html":
        title = ""
        lower = text.lower()
        if "<title>" in lower:
            title = text[lower.index("<title>") + 7 : lower.find("</title>")].strip()
        return f"an HTML page ({title or kind}), not the API"
    snippet = " ".join(text.split())[:80]
    return f"{kind}: {snippet!r}" if snippet else f"an empty {kind} body"


# --- /v1/models --------------------------------------------------------------------------------


def model_ids(body: bytes) -> list[str]:
    """The model ids a `/v1/models` answer lists; NotApiError when it is not that answer."""
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NotApiError(describe_body(body, "")) from None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, list):
        raise NotApiError("the /v1/models answer has no data list")
    return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
