"""One JSON answer of a given shape from an OpenAI-compatible server, over either of its APIs.

* "responses": OpenAI's Responses API with `text.format` json_schema, strict.
* "chat": Chat Completions, which vLLM, Ollama, llama.cpp, LM Studio, Bedrock and Azure serve.
  It asks with `response_format` json_schema first; a server that refuses that (400 or 422 for
  a field it does not know, 500 or 501 from some that fail to compile the schema) is asked in
  JSON mode (`{"type": "json_object"}`), and one that refuses both gets the schema in the prompt
  only. The client keeps the step down once the lower form has answered, so the refusal is
  paid once per container. The schema is in the system prompt in every form, for servers that
  accept `response_format` and ignore it.

However it was asked, the answer is parsed leniently (a ```json fence, text around the object,
raw newlines inside strings, a reasoning model's <think> block) and then validated with the
schema's pydantic model and the caller's own check. An answer that is malformed, cut off at
the token limit or refused by the model is asked for again, at most `malformed_retries` more
times; then `AnswerUnusable` says what was wrong with the last one.

A request the server refuses (a 4xx other than 408, 409 and 429, which the SDK retries itself)
raises `RequestRefused` with a reason that names the status, the URL and the setting to change,
and never the server's words about a key. Timeouts, rate limits and 5xx pass through unchanged
(after the SDK's own retries): they are the caller's transient errors.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

import openai
from pydantic import BaseModel, ValidationError

APIS = ("responses", "chat")
CHAT_FORMATS = ("json_schema", "json_object", "prompt")
# Statuses the SDK retries itself (a timeout, a conflict, a rate limit); any other 4xx is a refusal.
TRANSIENT_4XX = frozenset({408, 409, 429})
# What a server that cannot honour a `response_format` answers.
FORMAT_REFUSED = frozenset({400, 422, 500, 501})
MAX_DETAIL_CHARS = 200

_THINK_RE = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE_RE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.S)
# What may be a credential inside a server's error message: the key itself is replaced too.
_SECRETISH_RE = re.compile(r"(?:sk|pk|key|token|bearer)[-_][A-Za-z0-9_\-*.]{3,}|[A-Za-z0-9_\-*]{32,}", re.I)


class StructuredError(RuntimeError):
    """A failure that is not the server's "not now"; carries the tokens the failed attempts used."""

    def __init__(self, message: str, *, input_tokens: int = 0, output_tokens: int = 0):
        super().__init__(message)
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens


class RequestRefused(StructuredError):
    """The server refused the request itself (no such endpoint or model, a bad key, a bad field)."""


class AnswerUnusable(StructuredError):
    """Every answer, up to the bounded retries, was malformed, cut off or refused by the model."""


@dataclass(frozen=True)
class Answer:
    value: BaseModel
    input_tokens: int
    output_tokens: int
    attempts: int
    form: str            # "responses", "chat json_schema", "chat json_object" or "chat prompt"


class StructuredClient:
    """Asks for JSON answers through one OpenAI SDK client (its base URL, key, timeout and retries)."""

    def __init__(self, client, *, api: str = "responses", max_output_tokens: int = 800,
                 malformed_retries: int = 2, model_setting: str = "POSTLOOP_OPENAI_MODEL"):
        if api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, got {api!r}")
        if max_output_tokens < 1 or malformed_retries < 0:
            raise ValueError("max_output_tokens must be at least 1 and malformed_retries at least 0")
        self._client = client
        self.api = api
        self.max_output_tokens = max_output_tokens
        self.malformed_retries = malformed_retries
        self.model_setting = model_setting        # named in a refusal's reason
        self.chat_format = CHAT_FORMATS[0]        # the form a Chat Completions server last answered
        self._max_tokens_field = "max_tokens"     # what most servers read; OpenAI's newer models refuse it

    def ask(self, *, model: str, name: str, shape: type[BaseModel], instructions: str, prompt: str,
            check: Callable[[BaseModel], None] | None = None) -> Answer:
        """The validated answer; `check(value)` may raise ValueError to have it asked for again."""
        schema = shape.model_json_schema()
        used_in = used_out = 0
        attempts = 1 + self.malformed_retries
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                reply = (self._responses(model, name, schema, instructions, prompt) if self.api == "responses"
                         else self._chat(model, name, schema, instructions, prompt))
            except StructuredError as err:
                err.input_tokens += used_in
                err.output_tokens += used_out
                raise
            used_in += reply.input_tokens
            used_out += reply.output_tokens
            try:
                if reply.cut_off:
                    raise ValueError(f"the answer was cut off at the token limit ({self.max_output_tokens}; "
                                     "raise POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS)")
                if reply.refusal:
                    raise ValueError(f"the model declined: {_clip(reply.refusal)}")
                value = shape.model_validate(extract_json(reply.text))
                if check is not None:
                    check(value)
            except ValueError as err:
                problem = _describe_invalid(err)
                continue
            return Answer(value, used_in, used_out, attempt, reply.form)
        raise AnswerUnusable(f"the model's answer was unusable {attempts} time(s) in a row; last: {problem}",
                             input_tokens=used_in, output_tokens=used_out)

    # --- the two APIs --------------------------------------------------------------------------

    def _responses(self, model, name, schema, instructions, prompt) -> "_Reply":
        try:
            response = self._client.responses.create(
                model=model, instructions=instructions, input=prompt, max_output_tokens=self.max_output_tokens,
                text={"format": {"type": "json_schema", "name": name, "schema": schema, "strict": True}},
            )
        except openai.APIStatusError as err:
            raise self._refused(err, model) if _is_refusal(err) else err
        usage = getattr(response, "usage", None)
        details = getattr(response, "incomplete_details", None)
        refusal = ""
        for item in getattr(response, "output", None) or []:
            for part in getattr(item, "content", None) or []:
                if getattr(part, "type", None) == "refusal":
                    refusal = getattr(part, "refusal", "") or "(no reason given)"
        return _Reply(text=response.output_text or "", form="responses",
                      cut_off=(getattr(response, "status", None) == "incomplete"
                               and getattr(details, "reason", None) == "max_output_tokens"),
                      refusal=refusal if not response.output_text else "",
                      input_tokens=_count(getattr(usage, "input_tokens", 0)),
                      output_tokens=_count(getattr(usage, "output_tokens", 0)))

    def _chat(self, model, name, schema, instructions, prompt) -> "_Reply":
        system = (f"{instructions}\n\nAnswer with one JSON object and nothing else (no code fences, no prose), "
                  f"matching the JSON Schema {name}: {json.dumps(schema, separators=(',', ':'))}")
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        index = CHAT_FORMATS.index(self.chat_format)
        refused: list[str] = []
        while True:
            form = CHAT_FORMATS[index]
            extra: dict = {self._max_tokens_field: self.max_output_tokens}
            if form == "json_schema":
                extra["response_format"] = {"type": "json_schema",
                                            "json_schema": {"name": name, "schema": schema, "strict": True}}
            elif form == "json_object":
                extra["response_format"] = {"type": "json_object"}
            try:
                completion = self._client.chat.completions.create(model=model, messages=messages, **extra)
            except openai.APIStatusError as err:
                if self._max_tokens_field == "max_tokens" and err.param == "max_tokens" and err.status_code == 400:
                    self._max_tokens_field = "max_completion_tokens"   # OpenAI's reasoning models
                    continue
                if form != "prompt" and err.status_code in FORMAT_REFUSED:
                    refused.append(f"{form} ({err.status_code})")
                    index += 1
                    continue
                if not _is_refusal(err):
                    raise
                reason = self._refused(err, model)
                if refused:
                    reason = RequestRefused(f"{reason} (the server also refused response_format "
                                            f"{', '.join(refused)})")
                raise reason from None
            self.chat_format = form
            break
        usage = getattr(completion, "usage", None)
        choice = completion.choices[0] if getattr(completion, "choices", None) else None
        message = getattr(choice, "message", None)
        return _Reply(text=getattr(message, "content", None) or "", form=f"chat {form}",
                      cut_off=getattr(choice, "finish_reason", None) == "length",
                      refusal=getattr(message, "refusal", None) or "",
                      input_tokens=_count(getattr(usage, "prompt_tokens", 0)),
                      output_tokens=_count(getattr(usage, "completion_tokens", 0)))

    # --- reasons -------------------------------------------------------------------------------

    def _refused(self, err: "openai.APIStatusError", model: str) -> RequestRefused:
        """A log-safe reason: status, URL, what to change, and the server's own words unless about a key."""
        status = err.status_code
        response = getattr(err, "response", None)
        phrase = getattr(response, "reason_phrase", "") or ""
        where = _safe_url(getattr(getattr(response, "request", None), "url", None))
        head = f"{status} {phrase}".strip() + (f" from {where}" if where else "")
        code = err.code or ""
        if status == 401:
            hint = "the server refused the API key: check 'api_key' in the secret POSTLOOP_OPENAI_SECRET_ID names"
        elif status == 403:
            hint = f"the API key may not use model {model!r} or this endpoint"
        elif status == 404 and (code == "model_not_found" or err.param == "model"):
            hint = f"the server has no model {model!r}: check {self.model_setting}"
        elif status == 404 and self.api == "responses":
            hint = ("the server has no Responses API; set POSTLOOP_OPENAI_API=chat "
                    "(Chat Completions, which vLLM, Ollama, llama.cpp and Bedrock serve)")
        elif status == 404:
            hint = (f"the server has no model {model!r} or no Chat Completions API at this URL: check "
                    f"{self.model_setting} and OPENAI_BASE_URL (it usually ends in /v1)")
        else:
            hint = "the server refused the request"
        detail = ""
        if status not in (401, 403):
            body = err.body if isinstance(err.body, dict) else {}
            message = body.get("message") if isinstance(body.get("message"), str) else ""
            said = "; ".join(p for p in (f"code {code}" if code else "", f"param {err.param}" if err.param else "",
                                         _clip(message)) if p)
            if said:
                detail = f" (server: {_redact(said, getattr(self._client, 'api_key', None))})"
        return RequestRefused(f"{head} — {hint}{detail}")


@dataclass(frozen=True)
class _Reply:
    text: str
    form: str
    cut_off: bool
    refusal: str
    input_tokens: int
    output_tokens: int


def extract_json(text: str):
    """The JSON value in a model's answer: the whole text, a fenced block, or the first object in it.

    Raw control characters inside strings (a newline a model typed instead of \\n) are accepted.
    Raises ValueError when there is none.
    """
    text = _THINK_RE.sub("", text or "").strip()
    if not text:
        raise ValueError("the answer is empty")
    decoder = json.JSONDecoder(strict=False)
    candidates = [text] + [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    for candidate in candidates:
        try:
            return decoder.decode(candidate)
        except ValueError:
            pass
    start = text.find("{")
    for _ in range(50):   # bounded: an answer is at most a few thousand characters
        if start < 0:
            break
        try:
            return decoder.raw_decode(text, start)[0]
        except ValueError:
            start = text.find("{", start + 1)
    raise ValueError("the answer is not JSON")


def _is_refusal(err: "openai.APIStatusError") -> bool:
    return 400 <= err.status_code < 500 and err.status_code not in TRANSIENT_4XX


def _describe_invalid(err: ValueError) -> str:
    if isinstance(err, ValidationError):
        issues = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in err.errors()[:3]]
        return "it does not match the schema (" + "; ".join(issues) + ")"
    return str(err)


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 1] + "…"


def _redact(text: str, api_key: str | None) -> str:
    if api_key and len(api_key) >= 4:
        text = text.replace(api_key, "[key]")
    return _SECRETISH_RE.sub("[redacted]", text)


def _safe_url(url) -> str:
    """scheme://host[:port]/path: no user info or query string, which may carry credentials."""
    if url is None:
        return ""
    scheme, host, port, path = (getattr(url, k, None) for k in ("scheme", "host", "port", "path"))
    if not scheme or not host:
        return ""
    return f"{scheme}://{host}{f':{port}' if port else ''}{path or ''}"
