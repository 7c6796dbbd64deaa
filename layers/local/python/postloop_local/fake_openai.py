"""A local fake of the OpenAI endpoints postloop calls, on 127.0.0.1 (point OPENAI_BASE_URL at it).

* POST /v1/responses: `reply(request_json) -> dict | str` becomes the Response's output
  text; requests whose structured-output format is the judge's (`JUDGE_FORMAT`) are
  answered by `judge(request_json)` instead, when one is given. `responses_api=False`
  answers 404 here, as llama.cpp's server and other Chat-Completions-only servers do.
* POST /v1/chat/completions: Chat Completions as the common OpenAI-compatible servers
  speak it. `reply`/`judge` see the request with `instructions` (the system message) and
  `input` (the user message) added, so one reply function serves both APIs; a judge request
  is one whose json_schema is named `JUDGE_FORMAT` or whose system prompt names it.
  `chat_formats` lists the `response_format` types the server accepts ("text" is none
  given); any other is refused with `format_refusal` (400, or 500 as some servers do).
  `chat_style` renders a dict answer: "plain" JSON, "raw_newlines" (literal newlines
  inside strings), "fenced" (in a ```json block) or "prose" (a sentence around the JSON).
  `refuse_max_tokens` answers 400 naming `max_tokens`, as OpenAI does for its reasoning
  models, which take `max_completion_tokens`.
* Both: an answer longer than the request's token limit (`max_output_tokens`,
  `max_completion_tokens` or `max_tokens`; a token counted as 4 characters) is cut there,
  with finish_reason "length" (Chat) or status "incomplete" (Responses). `models`, when
  given, is the set of model names served: others get 404. `api_key`, when given, is the
  only key accepted: others get 401 with a message quoting part of the key sent, as
  OpenAI's does.
* POST /v1/moderations: one result per input; an input containing one of
  `flag_words[category]` (case-insensitive, whole word) is flagged in that category
  with score 0.9, every other category scores 0.01.
* POST /v1/embeddings: deterministic unit vectors from hashed word counts, so equal
  texts get equal vectors and texts sharing words point the same way. Answers in
  base64 (float32) when asked, as the SDK does by default, else as float lists.

Faults, per endpoint ("responses", "chat", "moderations", "embeddings"), via `fail(...)`:
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
PATHS = {"responses": "/v1/responses", "chat": "/v1/chat/completions", "moderations": "/v1/moderations",
         "embeddings": "/v1/embeddings"}
ENDPOINTS = tuple(PATHS)
ENDPOINT_OF_PATH = {path: endpoint for endpoint, path in PATHS.items()}
CHAT_FORMATS = ("json_schema", "json_object", "text")
CHAT_STYLES = ("plain", "raw_newlines", "fenced", "prose")
CHARS_PER_TOKEN = 4
MALFORMED_TEXT = "I would rate this draft fairly highly."
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


def chat_payload(body: dict, text: str, number: int, finish_reason: str = "stop") -> dict:
    """A Chat Completions answer whose only choice says `text`."""
    return {
        "id": f"chatcmpl-{number}", "object": "chat.completion", "created": 0, "model": body.get("model"),
        "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
    }


def render(answer: dict, style: str) -> str:
    """A dict answer written the way a model behind a Chat Completions server may write it."""
    if style == "raw_newlines":
        # A model that typed real line breaks inside strings: not strict JSON any more.
        return json.dumps(answer, ensure_ascii=False).replace("\\n", "\n")
    if style == "fenced":
        return "```json\n" + json.dumps(answer, ensure_ascii=False, indent=2) + "\n```"
    if style == "prose":
        return "Sure! Here is the post you asked for:\n" + json.dumps(answer, ensure_ascii=False) + \
            "\nLet me know if you want another angle."
    return json.dumps(answer, ensure_ascii=False)


def cut_at(text: str, limit) -> tuple[str, bool]:
    """`text` cut at `limit` tokens (4 characters each); True when it was cut."""
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 and len(text) > limit * CHARS_PER_TOKEN:
        return text[:limit * CHARS_PER_TOKEN], True
    return text, False


def _error(message: str, type_: str, code=None, param=None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


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
                 fault_schedule: Callable[[str, dict], str | None] | None = None,
                 responses_api: bool = True, chat_formats: tuple[str, ...] = CHAT_FORMATS,
                 format_refusal: int = 400, chat_style: str = "plain", refuse_max_tokens: bool = False,
                 models: set[str] | None = None, api_key: str | None = None):
        if not set(chat_formats) <= set(CHAT_FORMATS) or chat_style not in CHAT_STYLES:
            raise ValueError(f"chat_formats among {CHAT_FORMATS}, chat_style one of {CHAT_STYLES}")
        self.reply = reply
        self.responses_api = responses_api
        self.chat_formats = tuple(chat_formats)
        self.format_refusal = format_refusal
        self.chat_style = chat_style
        self.refuse_max_tokens = refuse_max_tokens
        self.models = set(models) if models is not None else None
        self.api_key = api_key
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
        return sum(1 for r in self.requests if r["path"].rstrip("/") == PATHS[endpoint])

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

    def _refusal(self, endpoint: str, body: dict, auth: str) -> tuple[int, dict] | None:
        """What a server says before it looks at the request: a wrong key, a missing API or model."""
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            sent = auth.removeprefix("Bearer ")
            shown = f"{sent[:3]}***{sent[-4:]}" if len(sent) > 8 else "***"
            return 401, _error(f"Incorrect API key provided: {shown}. You can find your API key in your "
                               "account settings.", "invalid_request_error", code="invalid_api_key")
        if endpoint == "responses" and not self.responses_api:
            return 404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
        model = body.get("model")
        if endpoint in ("responses", "chat") and self.models is not None and model not in self.models:
            if endpoint == "responses":
                return 404, _error(f"The model `{model}` does not exist or you do not have access to it.",
                                   "invalid_request_error", code="model_not_found")
            return 404, _error(f'model "{model}" not found, try pulling it first', "api_error")
        return None

    def _handler(self, is_judge: bool):
        return self.judge if is_judge and self.judge is not None else self.reply

    def _chat(self, body: dict, number: int, fault: str | None) -> tuple[int, dict]:
        response_format = body.get("response_format") or {}
        kind = response_format.get("type") or "text"
        if kind not in self.chat_formats:
            server_side = self.format_refusal >= 500
            return self.format_refusal, _error(
                f"response_format type '{kind}' is not supported" if not server_side
                else "Internal server error while compiling the grammar", "server_error" if server_side
                else "invalid_request_error", param=None if server_side else "response_format")
        if self.refuse_max_tokens and "max_tokens" in body:
            return 400, _error("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                               "'max_completion_tokens' instead.", "invalid_request_error",
                               code="unsupported_parameter", param="max_tokens")
        messages = body.get("messages") or []
        said = {role: "\n".join(str(m.get("content") or "") for m in messages if m.get("role") in roles)
                for role, roles in (("system", ("system", "developer")), ("user", ("user",)))}
        name = (response_format.get("json_schema") or {}).get("name")
        is_judge = name == JUDGE_FORMAT or (name is None and f"JSON Schema {JUDGE_FORMAT}" in said["system"])
        handler = self._handler(is_judge)
        if handler is None:
            return 404, _error("no reply configured", "invalid_request_error")
        if fault == "malformed":
            text = MALFORMED_TEXT
        else:
            answer = handler({**body, "instructions": said["system"], "input": said["user"]})
            text = answer if isinstance(answer, str) else render(answer, self.chat_style)
        text, cut = cut_at(text, body.get("max_completion_tokens") or body.get("max_tokens"))
        return 200, chat_payload(body, text, number, "length" if cut else "stop")

    def _answer(self, endpoint: str, body: dict, number: int, fault: str | None) -> tuple[int, dict | str]:
        if endpoint == "chat":
            return self._chat(body, number, fault)
        if endpoint == "responses":
            fmt = ((body.get("text") or {}).get("format") or {}).get("name")
            handler = self._handler(fmt == JUDGE_FORMAT)
            if handler is None:
                return 404, {"error": {"message": "no reply configured", "type": "invalid_request_error"}}
            if fault == "malformed":
                return 200, response_payload(body, MALFORMED_TEXT, number)
            answer = handler(body)
            text, cut = cut_at(answer if isinstance(answer, str) else json.dumps(answer),
                               body.get("max_output_tokens"))
            payload = response_payload(body, text, number)
            if cut:
                payload.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
                payload["output"][0]["status"] = "incomplete"
            return 200, payload
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
                auth = self.headers.get("Authorization", "")
                with fake._lock:
                    fake.requests.append({"path": self.path, "body": body, "auth": auth})
                    number = len(fake.requests)
                endpoint = ENDPOINT_OF_PATH.get(self.path.rstrip("/"))
                if endpoint is None:
                    self._send(self.path, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                refusal = fake._refusal(endpoint, body, auth)
                if refusal is not None:
                    self._send(endpoint, *refusal)
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
