"""Hypothesis strategies for hostile input, shared by the hostile-input tests.

Everything a JSON (or YAML) document can hold is fair game: wrong types, huge
and unprintable strings, lone surrogates, non-finite and huge numbers, deep
nesting. The sizes are bounded so a property runs in a fraction of a second.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st
from postloop.core import events

# Strings chosen to break naive code: empty and blank, control and separator
# characters, a lone surrogate (valid in a Python str and in JSON escapes, not
# encodable as UTF-8), path and format tricks, and lengths past every limit.
NASTY_STRINGS = [
    "", " ", "\t", "\n", "\x00", "demo\n", "demo\x00", "demo\x1b[31m", "\u2028", "\ufeffdemo", "\ud800",
    "demo\udfff", "../../etc/passwd", "demo' OR '1'='1", "${jndi:ldap://x}", "%s%n%x", "{account_id}",
    "🙂" * 40, "a" * 129, "a" * 4097, "x" * 200_000, "null", "true", "NaN", "-1", "0",
]

# Unicode text with every category, surrogates included (Hypothesis leaves them out by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
nasty_text = st.one_of(st.sampled_from(NASTY_STRINGS), any_text, st.text(max_size=20))

huge_ints = st.sampled_from([2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**40, -(10**40)])
numbers = st.one_of(
    st.integers(), huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, nasty_text)


def _deep(depth: int, leaf=None, kind: str = "list"):
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


# Nested far deeper than any real document, built without recursion (a
# recursive builder would hit the very limit it is meant to probe).
deep_values = st.builds(_deep, st.sampled_from([64, 900, 5_000]), leaves, st.sampled_from(["list", "dict"]))

shallow_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                              | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
json_values = st.one_of(shallow_values, deep_values)


def large(*values):
    """sampled_from for big constants, without their megabytes in the strategy's repr."""
    return st.sampled_from(range(len(values))).map(lambda i: values[i])


def not_of_type(*kinds: type, allow_none: bool = False):
    """JSON values whose type is none of `kinds` (bool counts as its own type, never as int)."""
    def wrong(v) -> bool:
        if v is None:
            return not allow_none and type(None) not in kinds
        return type(v) not in kinds
    return json_values.filter(wrong)


# Timestamps: text that may or may not be ISO-8601, real datetimes anywhere in
# datetime's range (years 1 to 9999, offsets up to ±24 h, naive ones), rendered
# in several ISO-ish ways.
_zones = st.one_of(st.none(), st.just(timezone.utc),
                   st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
                   .map(lambda d: timezone(d)))


def _render(dt: datetime, style: int) -> str:
    text = dt.isoformat()
    if style == 1 and dt.tzinfo is not None and dt.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    elif style == 2:
        text = text.replace("T", " ")
    return text


iso_datetimes = st.builds(_render, st.datetimes(timezones=_zones), st.integers(0, 2))
timestamp_text = st.one_of(
    iso_datetimes,
    st.sampled_from(["2026-01-09", "2026-01-09T05:00:00", "2026-01-09T25:00:00Z", "2026-02-30T05:00:00Z",
                     "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
                     "1969-12-31T23:59:59Z", "2026-01-09T05:00:00Z\n", " 2026-01-09T05:00:00Z",
                     "2026-W02-5T05:00Z", "20260109T050000Z", "Jan 9 2026 5am", "now", "Z", "", "\ud800"]),
    nasty_text,
)


def well_formed_event(parsed) -> None:
    """What the rest of the code may assume about a parsed event (checked apart from the
    parser, so a parser that accepts too much is caught)."""
    for f in dataclasses.fields(parsed):
        value = getattr(parsed, f.name)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, datetime):
            assert value.utcoffset() == timedelta(0), f.name
            # Windows reach back 180 days and ahead a day: stay well inside datetime's range.
            assert datetime(2000, 1, 1, tzinfo=timezone.utc) <= value < datetime(2100, 1, 1, tzinfo=timezone.utc), f.name
        elif isinstance(value, int):
            assert type(value) is int and value in (24, 48), f.name
        elif isinstance(value, str):
            # Identifiers end up in DynamoDB keys, Redis keys and log lines.
            assert value.strip() and value.isprintable(), f.name
            value.encode("utf-8")  # no lone surrogates: DynamoDB and Redis need UTF-8
            if f.name in ("account_id", "decision_id", "reviewer"):
                assert len(value) <= events.MAX_ID_LENGTH, f.name
        else:
            raise AssertionError(f"unexpected {type(value).__name__} in {f.name}")
