"""A local fake of OpenAI's Responses endpoint on 127.0.0.1, for tests (point OPENAI_BASE_URL at it)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class FakeOpenAI:
    """Answers POST /v1/responses with `reply(request_json) -> dict` turned into a Response object."""

    def __init__(self, reply: Callable[[dict], dict | str]):
        self.reply = reply
        self.requests: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization", "")})
                if self.path.rstrip("/") != "/v1/responses":
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                answer = fake.reply(body)
                text = answer if isinstance(answer, str) else json.dumps(answer)
                self._send(200, {
                    "id": f"resp_{len(fake.requests)}", "object": "response", "created_at": 0,
                    "status": "completed", "model": body.get("model"), "parallel_tool_calls": False,
                    "tool_choice": "auto", "tools": [],
                    "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                                "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                    "usage": {"input_tokens": 120, "output_tokens": 80, "total_tokens": 200,
                              "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens_details": {"reasoning_tokens": 0}},
                })

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
