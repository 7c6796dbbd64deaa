"""A local fake of the OpenAI endpoints postloop calls, on 127.0.0.1 (point OPENAI_BASE_URL at it).

* POST /v1/responses: `reply(request_json) -> dict | str` becomes the Response's output
  text; requests whose structured-output format is the judge's (`JUDGE_FORMAT`) are
  answered by `judge(request_json)` instead, when one is given.
* POST /v1/moderations: one result per input; an input containing one of
  `flag_words[category]` (case-insensitive, whole word) is flagged in that category
  with score 0.9, every other category scores 0.01.
* POST /v1/embeddings: deterministic unit vectors from hashed word counts, so equal
  texts get equal vectors and texts sharing words point the same way. Answers in
  base64 (float32) when asked, as the SDK does by default, else as float lists.

Faults, per endpoint ("responses", "moderations", "embeddings"), via `fail(...)`:
"timeout" (no answer for `hang_seconds`), "500" (a server error), "429" (a rate limit,
with a short `retry-after-ms` so the SDK's own retry comes quickly), "malformed" (a 200
whose content the caller must refuse: a wrong number of results, a judge answer that
is not JSON). A `fault_schedule(endpoint, request_json) -> mode | None` decides per
request when nothing was queued with `fail`. Every answer sent is kept in `sent` so
tests can check its shape with the SDK's own types.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

JUDGE_FORMAT = "post_judgement"
ENDPOINTS = ("responses", "moderations", "embeddings")
FAULTS = ("timeout", "500", "429", "malformed")
RETRY_AFTER_MS = 20
# The categories of OpenAI's omni-moderation models, by their wire names.
CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
_WORD_RE = re.compile(r"[^\W_]+")


def response_payload(body: dict, text: str, number: int) -> dict:
    """A completed Responses API answer whose only output is `text`."""
    return {
        "id": f"resp_{number}", "object": "response", "created_at": 0,
        "status": "completed", "model": body.get("model"), "parallel_tool_calls": False,
        "tool_choice": "auto", "tools": [],
        "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": 120, "output_tokens": 80, "total_tokens": 200,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    }


def _has_word(text: str, word: str) -> bool:
    return re.search(r"(?<![^\W_])" + re.escape(word.casefold()) + r"(?![^\W_])", text.casefold()) is not None


def moderation_payload(texts: list[str], model: str, flag_words: dict[str, list[str]]) -> dict:
    """A moderation answer: one result per text, flagged where a flag word occurs."""
    results = []
    for text in texts:
        hit = {c for c, words in flag_words.items() if any(_has_word(text, w) for w in words)}
        results.append({
            "flagged": bool(hit),
            "categories": {c: c in hit for c in CATEGORIES},
            "category_scores": {c: 0.9 if c in hit else 0.01 for c in CATEGORIES},
            "category_applied_input_types": {c: ["text"] for c in CATEGORIES},
        })
    return {"id": "modr-fake", "model": model, "results": results}


def embed_text(text: str, dimensions: int) -> list[float]:
    """A unit vector from the text's words, each hashed to a signed coordinate."""
    vector = [0.0] * dimensions
    for word in _WORD_RE.findall(text.casefold()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector[h % dimensions] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def embeddings_payload(texts: list[str], model: str, dimensions: int, encoding_format: str = "float") -> dict:
    data = []
    for i, text in enumerate(texts):
        vector = embed_text(text, dimensions)
        if encoding_format == "base64":
            value = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        else:
            value = vector
        data.append({"object": "embedding", "index": i, "embedding": value})
    tokens = sum(len(_WORD_RE.findall(t)) for t in texts)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


class FakeOpenAI:
    """Serves the endpoints above on a free loopback port; `start()` returns the base URL (…/v1)."""

    def __init__(self, reply: Callable[[dict], dict | str] | None = None, *,
                 judge: Callable[[dict], dict | str] | None = None,
                 flag_words: dict[str, list[str]] | None = None,
                 dimensions: int = 64, hang_seconds: float = 5.0,
                 fault_schedule: Callable[[str, dict], str | None] | None = None):
        self.reply = reply
        self.judge = judge
        self.flag_words = dict(flag_words or {})
        self.dimensions = dimensions
        self.hang_seconds = hang_seconds
        self.fault_schedule = fault_schedule
        self.requests: list[dict] = []
        self.sent: list[dict] = []                  # {"endpoint", "status", "payload"} per answer
        self._faults: dict[str, list[str | None]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def fail(self, endpoint: str, mode: str, times: int | None = None) -> None:
        """Make the next `times` requests to `endpoint` fail with `mode` (None: all of them)."""
        if endpoint not in ENDPOINTS or mode not in FAULTS:
            raise ValueError(f"endpoint one of {ENDPOINTS}, mode one of {FAULTS}")
        with self._lock:
            self._faults[endpoint] = [mode] * times if times is not None else [mode, None]

    def heal(self, endpoint: str | None = None) -> None:
        with self._lock:
            if endpoint is None:
                self._faults.clear()
            else:
                self._faults.pop(endpoint, None)

    def calls(self, endpoint: str) -> int:
        return sum(1 for r in self.requests if r["path"].rstrip("/").endswith("/" + endpoint))

    def _fault(self, endpoint: str, body: dict | None = None) -> str | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            if not queue:
                if self.fault_schedule is not None:
                    mode = self.fault_schedule(endpoint, body or {})
                    if mode is not None and mode not in FAULTS:
                        raise ValueError(f"fault schedule gave {mode!r}; one of {FAULTS}")
                    return mode
                return None
            if queue[-1] is None:          # a permanent fault: [mode, None]
                return queue[0]
            mode = queue.pop(0)
            if not queue:
                del self._faults[endpoint]
            return mode

    def _answer(self, endpoint: str, body: dict, number: int, fault: str | None) -> tuple[int, dict | str]:
        if endpoint == "responses":
            fmt = ((body.get("text") or {}).get("format") or {}).get("name")
            handler = self.judge if fmt == JUDGE_FORMAT and self.judge is not None else self.reply
            if handler is None:
                return 404, {"error": {"message": "no reply configured", "type": "invalid_request_error"}}
            if fault == "malformed":
                return 200, response_payload(body, "I would rate this draft fairly highly.", number)
            answer = handler(body)
            return 200, response_payload(body, answer if isinstance(answer, str) else json.dumps(answer), number)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else list(raw or [])
        if endpoint == "moderations":
            payload = moderation_payload(texts, body.get("model") or "omni-moderation-latest", self.flag_words)
            if fault == "malformed":
                payload["results"] = payload["results"][:-1]   # one result short: the caller must refuse it
            return 200, payload
        if any(not isinstance(t, str) or not t for t in texts) or not texts:
            return 400, {"error": {"message": "'input' cannot be an empty string", "type": "invalid_request_error",
                                   "param": "input", "code": None}}
        payload = embeddings_payload(texts, body.get("model"), self.dimensions,
                                     body.get("encoding_format") or "float")
        if fault == "malformed":
            payload["data"] = payload["data"][:-1]
        return 200, payload

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "body": body,
                                          "auth": self.headers.get("Authorization", "")})
                    number = len(fake.requests)
                endpoint = self.path.rstrip("/").rsplit("/", 1)[-1]
                if self.path.rstrip("/") not in {f"/v1/{e}" for e in ENDPOINTS}:
                    self._send(endpoint, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                fault = fake._fault(endpoint, body)
                if fault == "timeout":
                    # Hold the request open past the client's timeout; give up early when stopping.
                    fake._stopping.wait(fake.hang_seconds)
                    return
                if fault == "500":
                    self._send(endpoint, 500, {"error": {"message": "The server had an error while processing "
                                                         "your request.", "type": "server_error"}})
                    return
                if fault == "429":
                    self._send(endpoint, 429, {"error": {"message": "Rate limit reached for requests",
                                                         "type": "requests", "code": "rate_limit_exceeded"}},
                               {"retry-after-ms": str(RETRY_AFTER_MS)})
                    return
                status, payload = fake._answer(endpoint, body, number, fault)
                self._send(endpoint, status, payload)

            def _send(self, endpoint, status, payload, headers=None):
                fake.sent.append({"endpoint": endpoint, "status": status, "payload": payload})
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):   # the client gave up first
                    pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: stop() waits for one poll, and tests start and stop many servers.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
