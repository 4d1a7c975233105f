"""JSON text as this service accepts it, from a client's request body or a FHIR server's answer.

RFC 8259 JSON in UTF-8 (a UTF-8 byte-order mark is tolerated), and, as FHIR's JSON format requires, no member name
twice in one object and no NaN or Infinity. Nesting deeper than MAX_JSON_DEPTH is refused before anything walks the
value: later stages recurse (jsonschema, quirk repair, the R4B models), and a RecursionError there would be a 500.

Cost: the standard library's C parser does the parsing; the two extra checks use C-speed bytes operations on the raw
text plus one Python call per JSON object (`object_hook`, counting members). `python -m bench.parse_cost`: +0.43 ms
on a 200-resource hook body (json.loads 0.72 ms), +0.6-0.7 ms when every resource has a narrative (0.85 ms), and
+7-10 ms on 2,000 resources (10-12 ms); a pure-Python `object_pairs_hook` refusing repeated names costs about as
much on its own and checks no depth.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from flask import request

from cds_service.errors import CdsError

# The deepest nesting of objects and arrays accepted anywhere in a JSON text (the outermost value is level 1).
# A FHIR resource inside a prefetch searchset sits at level 6 and real resources add about 10 more (components,
# codings, nested extensions); a Bundle nested in a Bundle adds 4. 64 leaves a wide margin for real data while
# keeping every later stage that recurses far from Python's recursion limit.
MAX_JSON_DEPTH = 64

# Every byte except the five that matter for structure: quotes, and brackets mapped to "(" and ")".
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}:')
_BRACKETS = bytes.maketrans(b"[]{}", b"()()")
# An escape sequence: a backslash and the character it escapes (JSON has no backslash outside strings), removed in
# one regex pass, left to right as a JSON reader pairs them. Replacing "\\\\" and then '\\"' took two copies of the
# text: with a narrative in every resource (XHTML with quoted attributes) parse_json cost 1.98 ms on 200 resources,
# now 1.55 (bench.parse_cost).
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


class JsonRejected(ValueError):
    """The text is not JSON as accepted here; the message says why (it never repeats the text)."""


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, or JsonRejected."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRejected("is not UTF-8") from None
    members = 0

    def count_members(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal members
        members += len(obj)
        return obj

    try:
        value = json.loads(text, object_hook=count_members, parse_constant=_no_constant)
    except RecursionError:
        raise JsonRejected(f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, and an integer too long to convert
        raise JsonRejected("is not valid JSON") from None
    depth_ok, written_members = _structure(raw)
    if not depth_ok:
        raise JsonRejected(f"nests objects and arrays deeper than {MAX_JSON_DEPTH} levels")
    if written_members != members:  # a dict keeps one member per name: the text repeated a name somewhere
        raise JsonRejected("repeats a member name within an object")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity and -Infinity are not JSON


def _structure(raw: bytes) -> tuple[bool, int]:
    """(nesting within MAX_JSON_DEPTH, number of members written) of valid UTF-8 JSON text.

    Strings are removed first: after deleting every escape sequence, every quote left delimits a string. Only
    quotes, brackets and colons are kept (colons outside strings separate exactly one member each); adjacent quotes
    are dropped in pairs, which keeps every other byte on its side of the string boundaries, and the few strings
    left (holding brackets or colons) are removed. Each pass deleting "()" then removes the innermost
    level everywhere: the brackets are gone after exactly as many passes as the text is deep."""
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    skeleton = raw.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])  # even pieces are outside strings
    members = skeleton.count(b":")
    levels = skeleton.translate(None, b":")
    for _ in range(MAX_JSON_DEPTH):
        if not levels:
            break
        levels = levels.replace(b"()", b"")
    return not levels, members


def request_json() -> Any:
    """The request body as a JSON value, or CdsError(400) with an OperationOutcome."""
    raw = request.get_data(cache=False)  # 413 above MAX_CONTENT_LENGTH, before anything is parsed
    if not raw:
        raise CdsError(400, "The request body is empty; a JSON object is required.")
    try:
        return parse_json(raw)
    except JsonRejected as rejected:
        raise CdsError(400, f"The request body {rejected}.") from None
