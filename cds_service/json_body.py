"""JSON text as this service accepts it, from a client's request body or a FHIR server's answer.

RFC 8259 JSON in UTF-8 (a UTF-8 byte-order mark is tolerated), and, as FHIR's JSON format requires, no member name
twice in one object, no NaN or Infinity literals, objects and arrays nested at most MAX_JSON_DEPTH levels deep
(refused before anything walks the value), and strings that are Unicode text (half of a surrogate pair written as
an escape is read as U+FFFD).

jiter (pydantic's Rust JSON parser) does all of it in one pass: it refuses repeated names
(`catch_duplicate_keys`) and nesting deeper than its own limit, and its string cache holds member names only
(`cache_mode="keys"`), never values. It costs what a bare `json.loads` costs (0.85-1.15x; the floors of bench.run
parse with that and check nothing): 0.44-0.66 of the time the parser before it took (the standard library's with a
member-counting `object_hook`, and member and depth counts on the raw bytes), alternately on the bodies of
`python -m bench.parse_cost` (200 and 2,000 resources, with and without narratives) in one process.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import jiter
from flask import request

from cds_service.errors import CdsError

# The deepest nesting of objects and arrays accepted anywhere in a JSON text (the outermost value is level 1):
# jiter's own limit, which it enforces while parsing, on the levels that hold something (it checks when it reads a
# member, so an empty array or object may sit inside the deepest level). tests/unit/test_json_body.py pins it
# exactly: a jiter that changed it would fail there. A FHIR resource inside a prefetch searchset sits at level 6 and
# real resources add about 10 more (components, codings, nested extensions); a Bundle nested in a Bundle adds 4.
# What reads the value later recurses at most a few Python frames per level (copy.deepcopy, nested-Bundle
# generators; the R4B models and msgspec recurse in Rust and C, and both fall back on a RecursionError), far inside
# Python's limit of 1,000 frames: tests/service/test_hostile_input.py puts nesting down to this limit in every
# member of realistic requests.
MAX_JSON_DEPTH = 200


class JsonRejected(ValueError):
    """The text is not JSON as accepted here; the message says why (it never repeats the text)."""


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, or JsonRejected."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return _parse(raw)
    except ValueError as error:
        message = str(error)
    if not message.startswith(_NOT_REPAIRED):
        repaired, count = _LONE_SURROGATE.subn(_replacement, raw)
        if count:
            try:
                return _parse(repaired)
            except ValueError as error:
                message = str(error)
    raise JsonRejected(_why(raw, message))


def _parse(raw: bytes) -> Any:
    return jiter.from_json(raw, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys")


# Half of a surrogate pair written as an escape ("\ud83e" without its "\uddb4": a UTF-16 string cut in the middle
# of an emoji) is not Unicode text; jiter refuses the whole document for it. One cut character must not cost a
# chart, so the halves are read as U+FFFD, the replacement character, as a UTF-8 decoder reads broken bytes. The
# pattern takes escaped backslashes and whole pairs first, left to right as a JSON reader pairs escapes, so "\\ud83e"
# (a backslash, then text) is left alone.
_LONE_SURROGATE = re.compile(
    rb"(\\\\)|(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
# What jiter's messages begin with for the refusals that are ours to word (its messages may quote the text).
_REFUSALS = {
    "Detected duplicate key": "repeats a member name within an object",
    "recursion limit exceeded": f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels",
}
_NOT_REPAIRED = tuple(_REFUSALS)


def _replacement(found: re.Match[bytes]) -> bytes:
    return found.group(0) if found.group(1) or found.group(2) else rb"\ufffd"


def _why(raw: bytes, message: str) -> str:
    """What is wrong with a text jiter refused, in our words: its message may quote the text (a member name)."""
    for start, why in _REFUSALS.items():
        if message.startswith(start):
            return why
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8"
    return "is not valid JSON"


def request_json() -> Any:
    """The request body as a JSON value, or CdsError(400) with an OperationOutcome."""
    raw = request.get_data(cache=False)  # 413 above MAX_CONTENT_LENGTH, before anything is parsed
    if not raw:
        raise CdsError(400, "The request body is empty; a JSON object is required.")
    try:
        return parse_json(raw)
    except JsonRejected as rejected:
        raise CdsError(400, f"The request body {rejected}.") from None
