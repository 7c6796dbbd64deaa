"""A post's text as X API v2 returns it, compared with the text that was sent.

X's v2 answers carry a post's text with `&`, `<` and `>` escaped as the HTML entities `&amp;`,
`&lt;` and `&gt;` (and nothing else escaped), so a post sent as "Q&A" comes back as "Q&amp;A".
Whatever finds a post on X by its text (the client's check before retrying a create, post's
reconciliation, a sweeper adopting posts) compares through these functions, never raw strings.
"""
from __future__ import annotations

import re
import unicodedata

_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARS = {"amp": "&", "lt": "<", "gt": ">"}


def unescape_x(text: str) -> str:
    """`text` as X returned it, with X's three entities turned back into characters.

    One pass, so "&amp;lt;" (a post that said "&lt;") becomes "&lt;", not "<". Other entities are
    left alone: X escapes every `&`, so any other `&name;` was typed by the author.
    """
    return _ENTITY.sub(lambda m: _CHARS[m.group(1)], text)


def sent_key(text: str) -> str:
    """The comparable form of a text as it was sent to X (NFC, outer whitespace trimmed)."""
    return unicodedata.normalize("NFC", text).strip()


def returned_key(text: str) -> str:
    """The comparable form of a post's text as X returned it: unescaped, then as `sent_key`."""
    return sent_key(unescape_x(text))


def same_text(sent: str, returned: str) -> bool:
    """True when the post X returned with text `returned` says what `sent` said."""
    return sent_key(sent) == returned_key(returned)
