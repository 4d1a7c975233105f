"""cds_service.json_body.parse_json against a plain reference: the standard parser with a pure-Python
`object_pairs_hook` that refuses repeated names, and a recursive depth count. The texts here are written the ways
serializers write them (escapes, unicode, whitespace, brackets, colons and quotes inside strings), and repeat names
and nest past the limit the ways hostile clients do."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.json_body import MAX_JSON_DEPTH, JsonRejected, parse_json

_TRICKY = st.text(alphabet=st.sampled_from(list('"\\[]{}:,/ \t\n\u00e9\u2028\U0001f9b4ab')), max_size=8)
keys = st.one_of(st.sampled_from(["a", "b", "resourceType", "a:", "[", '"', "\\", "é"]), _TRICKY)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False), _TRICKY
)


def _pairs(draw: st.DrawFn, inner: st.SearchStrategy[Any]) -> list[tuple[str, Any]]:
    return draw(st.lists(st.tuples(keys, inner), max_size=4))


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text written by hand, so objects can repeat names and be nested to any depth."""
    if depth > 80 or draw(st.integers(0, 3)) == 0:
        return json.dumps(draw(scalars), ensure_ascii=draw(st.booleans()))
    space = draw(st.sampled_from(["", " ", "\n  "]))
    if draw(st.booleans()):
        items = draw(st.lists(documents(depth + 1), max_size=3))
        return "[" + f",{space}".join(items) + "]"
    members = draw(st.lists(st.tuples(keys, documents(depth + 1)), max_size=3))
    if members and draw(st.integers(0, 4)) == 0:
        members.append((members[0][0], draw(documents(depth + 1))))  # a repeated name
    escape = draw(st.booleans())
    written = [
        (
            '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in k) + '"'
            if escape
            else json.dumps(k, ensure_ascii=False)
        )
        + f"{space}:{space}"
        + v
        for k, v in members
    ]
    return "{" + ",".join(written) + "}"


@st.composite
def near_the_limit(draw: st.DrawFn) -> str:
    """A document wrapped in MAX_JSON_DEPTH ± a few levels of arrays and objects, with tricky strings beside them."""
    text = draw(documents(depth=70))
    for _ in range(draw(st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 2))):
        sibling = json.dumps(draw(_TRICKY))
        if draw(st.booleans()):
            text = f"[{sibling},{text}]"
        else:
            text = f'{{{sibling}:{text}, "{draw(st.sampled_from(["z", "[", "]:"]))}":{sibling}}}'
    return text


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


def _depth(value: Any) -> int:
    """Levels of objects and arrays that hold something (an empty one adds none: the parser checks the limit when
    it reads a member, so an empty array or object may sit inside the deepest level)."""
    if isinstance(value, dict) and value:
        return 1 + max(map(_depth, value.values()))
    if isinstance(value, list) and value:
        return 1 + max(map(_depth, value))
    return 0


def reference(text: str) -> Any:
    """The answer parse_json must give: the value, or "repeated" / "deep"."""
    try:
        value = json.loads(text, object_pairs_hook=_no_repeats)
    except _Repeated:
        return "repeated"
    return "deep" if _depth(value) > MAX_JSON_DEPTH else value


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.one_of(documents(), near_the_limit()))
def test_parse_json_agrees_with_the_reference(text: str) -> None:
    expected = reference(text)
    try:
        got = parse_json(text.encode())
    except JsonRejected as rejected:
        got = "repeated" if "repeats" in str(rejected) else "deep" if "deeper" in str(rejected) else str(rejected)
    if expected == "repeated" and got == "deep":
        return  # both faults present: either answer is right
    assert _typed(got) == _typed(expected)  # == alone would take 1 for 1.0 or True, and 0.0 for -0.0


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 999, 1000, 10**5])
@pytest.mark.parametrize("opener", ["[", '{"a":', '{"x":"]]]]","a":'])
def test_the_depth_limit_is_exact(opener: str, depth: int) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    if depth <= MAX_JSON_DEPTH:
        assert _depth(parse_json(text.encode())) == depth
    else:
        with pytest.raises(JsonRejected, match="deeper than"):
            parse_json(text.encode())


def test_an_empty_array_or_object_inside_the_deepest_level_is_accepted_and_no_deeper() -> None:
    for empty in ("[]", "{}"):
        at_the_limit = "[" * MAX_JSON_DEPTH + empty + "]" * MAX_JSON_DEPTH
        assert _depth(parse_json(at_the_limit.encode())) == MAX_JSON_DEPTH
        with pytest.raises(JsonRejected, match="deeper than"):
            parse_json(("[" + at_the_limit + "]").encode())


def test_brackets_and_quotes_in_strings_do_not_hide_depth() -> None:
    """Unbalanced brackets inside strings would let a string-unaware count see 1 level where there are many more."""
    text = '["]]]]]]]]",' * (MAX_JSON_DEPTH + 1) + "1" + "]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(JsonRejected, match="deeper than"):
        parse_json(text.encode())


# Narratives as EHRs send them: XHTML with quoted attributes, line breaks, a path ending in a backslash just before
# the closing quote, and a quote written as \u0022. Each escape sits right beside the structure it could hide.
_NARRATIVE = (
    r'{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"a]\">'
    r'x: 1\n{y}</p></div>","path":"C:\\scans\\","note":"\u0022:[","end\\\"":"\\\\"}'
)


def test_escape_sequences_do_not_hide_members_or_depth() -> None:
    resource = json.loads(_NARRATIVE)
    assert parse_json(_NARRATIVE.encode()) == resource
    repeated = _NARRATIVE[:-1] + ',"path":"again"}'
    with pytest.raises(JsonRejected, match="repeats"):
        parse_json(repeated.encode())
    deep = "[" * MAX_JSON_DEPTH + _NARRATIVE + "]" * MAX_JSON_DEPTH  # the narrative object is one level more
    with pytest.raises(JsonRejected, match="deeper than"):
        parse_json(deep.encode())
    assert parse_json(("[" * (MAX_JSON_DEPTH - 1) + _NARRATIVE + "]" * (MAX_JSON_DEPTH - 1)).encode())


def test_half_of_a_surrogate_pair_is_read_as_the_replacement_character() -> None:
    """A UTF-16 string cut in the middle of an emoji leaves half a pair: not Unicode text, but one cut character must
    not cost the whole chart. It reads as U+FFFD; whole pairs and escaped backslashes are left alone, and the
    repaired text is held to every other rule."""
    assert parse_json(b'{"text":"bone \\ud83e\\uddb4"}') == {"text": "bone \U0001f9b4"}
    assert parse_json(b'{"text":"\\ud83e"}') == {"text": "\ufffd"}
    assert parse_json(b'["\\udd74 x", "\\uD83E\\u0041", "\\uDD74\\uD83E"]') == ["\ufffd x", "\ufffdA", "\ufffd\ufffd"]
    assert parse_json(b'["\\\\ud83e", "\\\\\\ud83e"]') == ["\\ud83e", "\\\ufffd"]  # a backslash, then text
    with pytest.raises(JsonRejected, match="repeats a member name"):
        parse_json(b'{"a":"\\ud83e","a":1}')
    with pytest.raises(JsonRejected, match="is not valid JSON"):
        parse_json(b'["\\ud83e", nope]')


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b'{"Jane Doe 1970-01-01":1,"Jane Doe 1970-01-01":2}', "repeats a member name within an object"),
        (b'{"name":"Jane Doe 1970-01-01",}', "is not valid JSON"),
        (b'{"name":"Jane Doe \xff"}', "is not UTF-8"),
        (b"[" * 300 + b'"Jane Doe"' + b"]" * 300, f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels"),
        (b'{"value":NaN}', "is not valid JSON"),
        (b'{"value":-Infinity}', "is not valid JSON"),
    ],
)
def test_refusals_say_why_without_quoting_the_text(text: bytes, why: str) -> None:
    with pytest.raises(JsonRejected) as refused:
        parse_json(text)
    assert str(refused.value) == why
