"""A real headless browser for the tests: Debian's chromium, driven over the DevTools protocol.

`Chromium()` starts the browser with a fresh profile and no network of its own beyond what a
page asks for; `open(url)` loads a page in a new tab and returns a `Page` that has collected
every console message, uncaught exception, log entry (CSP violations, failed loads) and failed
or refused request until the load event, and can evaluate JavaScript and take a screenshot.
"""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--no-default-browser-check", "--mute-audio")


def chromium_binary() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Page:
    """One loaded tab: what it reported while loading, and a way to ask it more."""

    url: str
    ws: object
    problems: list[str] = field(default_factory=list)   # console errors, exceptions, failed requests
    console: list[str] = field(default_factory=list)    # every console message, any level
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def call(self, method: str, params: dict | None = None, timeout: float = 20.0) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)
        raise TimeoutError(f"no answer to {method} in {timeout} s")

    def _event(self, msg: dict) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.console.append(f"{p.get('type')}: {text}")
            if p.get("type") in ("error", "assert"):
                self.problems.append(f"console.{p.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.problems.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')}")
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            self.console.append(f"log {e.get('level')}: {e.get('text')}")
            if e.get("level") == "error":
                self.problems.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip())
        elif method == "Network.loadingFailed":
            self.problems.append(f"request failed: {p.get('errorText')} {p.get('blockedReason', '')}".strip())
        elif method == "Network.responseReceived":
            r = p.get("response", {})
            if r.get("status", 200) >= 400:
                self.problems.append(f"HTTP {r.get('status')} for {r.get('url')}")
        elif method == "Page.loadEventFired":
            self._loaded = True

    def wait_load(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        self.ws.settimeout(timeout)
        while not getattr(self, "_loaded", False):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url} did not finish loading in {timeout} s")
            self._event(json.loads(self.ws.recv()))
        # Messages a page logs right after load (a late CSP report) arrive within a few ms.
        self.drain(0.3)

    def drain(self, seconds: float) -> None:
        import websocket
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                self._event(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable results)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """The browser process; a context manager that always ends it and removes its profile."""

    def __init__(self, binary: str, width: int = 1000, height: int = 1200):
        self.binary = binary
        self.size = (width, height)
        self.proc: subprocess.Popen | None = None
        self.profile = Path(tempfile.mkdtemp(prefix="postloop-chromium-"))
        self.port: int | None = None
        self.pages: list[Page] = []

    def __enter__(self) -> "Chromium":
        self.proc = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode} before opening DevTools")
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port in 30 s")
            time.sleep(0.05)
        self.port = int(active.read_text().split()[0])
        return self

    def open(self, url: str) -> Page:
        import websocket
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            target = json.loads(resp.read())
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=20, suppress_origin=True)
        page = Page(url, ws)
        self.pages.append(page)
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.call(f"{domain}.enable")
        page._loaded = False
        page.call("Page.navigate", {"url": url})
        page.wait_load()
        return page

    def __exit__(self, *exc) -> None:
        for page in self.pages:
            try:
                page.ws.close()
            except Exception:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)
