"""JSON text as this service accepts it, from a client's request body or a FHIR server's answer.

RFC 8259 JSON in UTF-8 (a UTF-8 byte-order mark is tolerated), and, as FHIR's JSON format requires, no member name
twice in one object, no NaN or Infinity, and strings that are Unicode text (an escaped lone surrogate is refused).
Nesting deeper than MAX_JSON_DEPTH is refused before anything walks the value: later stages recurse (jsonschema,
quirk repair, the R4B models), and a RecursionError there would be a 500.

jiter (pydantic's Rust JSON parser) parses and refuses repeated names in the same pass; its string cache holds
member names only (`cache_mode="keys"`), never values. The depth check uses C-speed bytes operations on the raw
text. Against the standard library's parser with a member-counting `object_hook` and a bytes-level member count
(the parser before), `python -m bench.parse_cost` and the same bodies alternately in one process: 0.72-0.82 of the
time (200 and 2,000 resources, with and without narratives); the body parse is now within 1.2-1.5x of a bare
`json.loads` that checks neither.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import jiter
from flask import request

from cds_service.errors import CdsError

# The deepest nesting of objects and arrays accepted anywhere in a JSON text (the outermost value is level 1).
# A FHIR resource inside a prefetch searchset sits at level 6 and real resources add about 10 more (components,
# codings, nested extensions); a Bundle nested in a Bundle adds 4. 64 leaves a wide margin for real data while
# keeping every later stage that recurses far from Python's recursion limit.
MAX_JSON_DEPTH = 64

# Every byte except the five that matter for nesting: quotes, and brackets mapped to "(" and ")".
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_BRACKETS = bytes.maketrans(b"[]{}", b"()()")
# An escape sequence: a backslash and the character it escapes (JSON has no backslash outside strings), removed in
# one regex pass, left to right as a JSON reader pairs them (replacing "\\\\" and then '\\"' took two copies of the
# text, and a narrative in every resource is common: XHTML with quoted attributes).
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


class JsonRejected(ValueError):
    """The text is not JSON as accepted here; the message says why (it never repeats the text)."""


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, or JsonRejected."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        value = jiter.from_json(raw, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys")
    except ValueError as error:
        raise JsonRejected(_why(raw, str(error))) from None
    if not _within_depth(raw):
        raise JsonRejected(f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels")
    return value


def _why(raw: bytes, message: str) -> str:
    """What is wrong with a text jiter refused, in our words: its message may quote the text (a member name)."""
    if message.startswith("Detected duplicate key"):
        return "repeats a member name within an object"
    if message.startswith("recursion limit exceeded"):  # jiter's own limit (200 levels), far above ours
        return f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8"
    return "is not valid JSON"


def _within_depth(raw: bytes) -> bool:
    """Whether valid JSON text nests objects and arrays at most MAX_JSON_DEPTH levels deep.

    Strings are removed first: after deleting every escape sequence, every quote left delimits a string. Only quotes
    and brackets are kept; adjacent quotes are dropped in pairs, which keeps every other byte on its side of the
    string boundaries, and the few strings left (holding brackets) are removed. Each pass deleting "()" then removes
    the innermost level everywhere: the brackets are gone after exactly as many passes as the text is deep."""
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    levels = raw.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in levels:
        levels = b"".join(levels.split(b'"')[::2])  # even pieces are outside strings
    for _ in range(MAX_JSON_DEPTH):
        if not levels:
            break
        levels = levels.replace(b"()", b"")
    return not levels


def request_json() -> Any:
    """The request body as a JSON value, or CdsError(400) with an OperationOutcome."""
    raw = request.get_data(cache=False)  # 413 above MAX_CONTENT_LENGTH, before anything is parsed
    if not raw:
        raise CdsError(400, "The request body is empty; a JSON object is required.")
    try:
        return parse_json(raw)
    except JsonRejected as rejected:
        raise CdsError(400, f"The request body {rejected}.") from None
