"""The HTML report in a real headless browser (Debian's chromium over the DevTools protocol).

The report of a simulated run, with a post that tries to inject markup, is served on 127.0.0.1
and loaded: it must load without a console error, a refused or failed request, or an exception;
every figure must render with a non-zero size and marks inside it; the hostile post must show
as text and run nothing. Guard-off checks show each of these checks can fail: the same page with
the escaping turned off grows a <script> element (and the browser reports the CSP refusing it),
and with the CSP turned off too the script runs.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from postloop_local import charts, report, simulate
from postloop_local.activity import PostView
from postloop_local.scenario import load_scenario
from tests.browser import Chromium, chromium_binary

HOSTILE = 'Sleep tip </p><script>window.__injected = 1; console.error("injected")</script><img src=x onerror="window.__injected = 2">'
FIGURES = 7   # shares, heatmap, predicted vs actual, two skill charts, followers, spend

# What the page reports about its figures and the hostile post.
PROBE = """(() => {
  const figs = [...document.querySelectorAll('svg.figure, img')].map(el => {
    const r = el.getBoundingClientRect();
    return {tag: el.tagName.toLowerCase(), w: r.width, h: r.height, marks: el.querySelectorAll('rect, path, circle, line').length,
            loaded: el.tagName.toLowerCase() !== 'img' || (el.complete && el.naturalWidth > 0)};
  });
  return {figs, scripts: document.querySelectorAll('script').length, injected: window.__injected || 0,
          text: document.body.innerText, title: document.title};
})()"""


@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        import os
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)")
    with Chromium(binary) as b:
        yield b


@pytest.fixture(scope="module")
def activity():
    """Fourteen simulated days (in-memory backend; the follow model is first measured after ten) and one hostile post among the best."""
    from postloop.runtime.observability import logger
    logger.setLevel("WARNING")
    scenario = load_scenario("stationary")
    with contextlib.redirect_stdout(io.StringIO()):
        result = simulate.run(scenario, days=14, seed=2, backend="memory")
    act = simulate.activity(result, simulate.load_account(scenario.account))
    template = act.ranked()[0]
    hostile = replace(template, decision_id="20260110T000000Z-hostile", parts=[HOSTILE, "part two <b>bold?</b>"],
                      engagement_rate=0.9, outcome_hours=48)
    act.posts.append(hostile)
    assert isinstance(hostile, PostView) and act.ranked()[0] is hostile
    return act


@contextlib.contextmanager
def served(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_report_loads_without_errors_and_every_figure_renders(browser, activity, tmp_path):
    report.write(activity, tmp_path)
    with served(tmp_path) as url:
        page = browser.open(url + "index.html")
        probe = page.evaluate(PROBE)
        page.screenshot(tmp_path / "report.png")
    assert page.problems == [], page.problems
    assert probe["title"] == "postloop report · demo"
    figs = probe["figs"]
    assert len(figs) == FIGURES, figs
    for fig in figs:
        assert fig["w"] > 100 and fig["h"] > 50 and fig["marks"] > 3 and fig["loaded"], fig
    # The hostile post is on the page as the text it is, and nothing of it ran.
    assert probe["scripts"] == 0 and probe["injected"] == 0
    assert HOSTILE.split("</p>")[1][:40] in probe["text"]
    assert "part two <b>bold?</b>" in probe["text"]
    assert (tmp_path / "report.png").stat().st_size > 20_000


def test_guard_off_unescaped_text_becomes_markup_and_the_csp_refusal_is_reported(browser, activity, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(charts, "esc", lambda text: str(text))
    report.write(activity, tmp_path)
    with served(tmp_path) as url:
        page = browser.open(url + "index.html")
        probe = page.evaluate(PROBE)
    # Without escaping the post's markup is in the page: the checks above would fail.
    assert probe["scripts"] >= 1
    assert any("Content Security Policy" in p for p in page.problems), page.problems
    # The CSP still kept the script from running.
    assert probe["injected"] == 0


def test_guard_off_without_escaping_and_csp_the_post_runs_script(browser, activity, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "esc", lambda text: str(text))
    monkeypatch.setattr(report, "CSP", "default-src *; script-src 'unsafe-inline'")
    report.write(activity, tmp_path)
    with served(tmp_path) as url:
        page = browser.open(url + "index.html")
        probe = page.evaluate(PROBE)
    assert probe["injected"] in (1, 2)
    assert "console.error: injected" in page.problems, page.problems


def test_guard_off_a_figure_that_fails_to_load_is_caught(browser, activity, tmp_path, monkeypatch):
    """A figure as an <img> file that is missing: the request fails and the image has no size."""
    real_figure = report._figure
    monkeypatch.setattr(report, "CSP", report.CSP.replace("img-src data:", "img-src 'self' data:"))
    monkeypatch.setattr(report, "_figure", lambda svg, caption: real_figure('<img src="missing.png" alt="">', caption))
    report.write(activity, tmp_path)
    with served(tmp_path) as url:
        page = browser.open(url + "index.html")
        probe = page.evaluate(PROBE)
    assert any("HTTP 404" in p for p in page.problems), page.problems
    assert not all(f["loaded"] and f["w"] > 100 for f in probe["figs"])
