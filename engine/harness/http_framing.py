"""HTTP/1.1 framing for the simulated endpoint (`engine.harness.endpoint`): status lines and
headers, whole responses, vLLM's error body, and the chunked `text/event-stream` events of a
streamed completion. Bytes only, no sockets: the endpoint writes what these return. Every
response says `x-mlconsole-simulated: true`. Standard library only: it runs on nodes."""

from __future__ import annotations

import json

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """The status line and headers of a response, up to the blank line."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append("x-mlconsole-simulated: true")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(status: int, body: bytes, content_type: str, close: bool = False) -> bytes:
    """A whole response with a content-length (and `connection: close` if `close`)."""
    headers = [("content-type", content_type), ("content-length", str(len(body)))]
    if close:
        headers.append(("connection", "close"))
    return head(status, headers) + body


def json_response(status: int, data: object) -> bytes:
    return response(status, json.dumps(data).encode(), "application/json")


def error(status: int, message: str, kind: str = "BadRequestError") -> bytes:
    """vLLM's error body: `{error: {message, type, param, code}}`."""
    return json_response(
        status, {"error": {"message": message, "type": kind, "param": None, "code": status}}
    )


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(obj: object) -> bytes:
    """One `data: <json>` server-sent event, as one chunk."""
    return chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


# The stream's last event, then the chunked body's end.
DONE = chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
