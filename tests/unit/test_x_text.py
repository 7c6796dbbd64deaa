"""A post's text as X returns it (HTML-escaped) against the text that was sent."""
import pytest

from postloop.core.x_text import returned_key, same_text, sent_key, unescape_x
from postloop_local.fake_x import escape_text


@pytest.mark.parametrize("sent", [
    "plain words", "Q&A: sleep <7 h & focus > 2 h", "&amp; is how X writes &", "&lt;tag&gt; typed as entities",
    "&copy; and &#39; stay as typed", "café ☕ — naps", "  trimmed  ",
])
def test_what_x_returns_compares_equal_to_what_was_sent(sent):
    assert same_text(sent, escape_text(sent))
    assert unescape_x(escape_text(sent)) == sent


def test_unescaping_is_one_pass():
    assert unescape_x("&amp;lt;") == "&lt;"
    assert unescape_x("a &amp;amp; b") == "a &amp; b"


def test_other_texts_differ():
    assert not same_text("Q&A", "Q&amp;B")
    assert not same_text("a < b", "a &lt; c")


def test_keys_normalise_form_and_outer_space():
    assert sent_key("cafe\u0301 ") == returned_key("caf\u00e9")
