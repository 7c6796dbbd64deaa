"""A Lambda function URL on 127.0.0.1: each HTTP request becomes a function-URL event (payload
version 2.0) for a handler, and its answer becomes the HTTP response. For tests and local runs
of the review page; it serves one handler and nothing else."""
from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

MAX_BODY = 1_000_000


def event_of(method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict:
    url = urlsplit(target)
    text_body = None
    encoded = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": url.path or "/", "rawQueryString": url.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": method, "path": url.path or "/", "protocol": "HTTP/1.1",
                                    "sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")}},
        "body": text_body, "isBase64Encoded": encoded,
    }


class FunctionUrl:
    """`with FunctionUrl(handler) as url:` serves `handler(event) -> response` at `url`."""

    def __init__(self, handler: Callable[[dict], dict]):
        self._handler = handler
        self.requests: list[dict] = []

    def __enter__(self) -> str:
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else b""
                event = event_of(self.command, self.path, dict(self.headers), body, self.client_address[0])
                outer.requests.append(event)
                out = outer._handler(event)
                data = out.get("body") or ""
                data = base64.b64decode(data) if out.get("isBase64Encoded") else data.encode("utf-8")
                self.send_response(out.get("statusCode", 200))
                for k, v in (out.get("headers") or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):   # quiet: the URLs carry tokens
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
