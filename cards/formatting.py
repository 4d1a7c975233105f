"""Values as clinicians read them, and the length limits of card text.

Dates ISO 8601, decimals as written (computed ones cut to one decimal), negative numbers with an ASCII hyphen-minus.
Summary text is plain; detail text is GitHub-flavoured Markdown in which text from the chart is neutralised, so it
cannot inject markup or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

SUMMARY_LIMIT = 140  # CDS Hooks: "<140 char"; every summary is at most 139 characters
DETAIL_LIMIT = 1200  # decision table §3 (rev 2) "Card length": read in seconds during a visit
_ELLIPSIS = "..."

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~#])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # only these can open raw HTML (or an autolink) in GFM
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_NEEDS_ESCAPING = re.compile(r"[\\`*_\[\]|~#&<>]")  # any character the three patterns above or a leading '>' act on
_WHITESPACE = re.compile(r"\s+")
_DOMAIN_NAMES = {
    "labs": "lab results",
    "medications": "medications",
    "conditions": "conditions and fractures",
    "frax": "FRAX results",
    "dxa": "DXA results",
    "procedures": "planned procedures",
}


def display_decimal(value: Decimal, *, trim: bool = False) -> str:
    """The one number formatter of the cards: at most one decimal, cut toward zero, as clinicians write results.
    Converted and computed values (30 nmol/L / 2.496 = 12.0192 ng/mL; corrected calcium 9.40) read 12.0 and 9.4; a
    value recorded with one decimal or none keeps it ("-1.0" stays "-1.0", "58" stays "58"). Cutting (not rounding)
    keeps every comparison with a threshold of one decimal: 19.99 ng/mL shows as 19.9, never as a misleading 20.0 on a
    "below 20" card, and -2.51 still shows at or below -2.5.

    `trim` drops trailing zeros ("20.0" -> "20", "4.5" stays): for thresholds, written as the decision table writes
    them (FRAX hip 3%, MOF 20%). Chart values are never trimmed, so summary and detail show the same decimals."""
    exponent = value.as_tuple().exponent
    if not value.is_finite() or not isinstance(exponent, int) or exponent >= -1:
        text = format(value, "f")  # as recorded
    else:
        text = _unsigned_zero(format(value.quantize(Decimal("0.1"), rounding=ROUND_DOWN), "f"))
    if trim and "." in text:
        text = _unsigned_zero(text.rstrip("0").rstrip("."))
    return text


def trimmed_decimal(value: Decimal) -> str:
    """A threshold as the decision table writes it (the templates' `trimmed` filter)."""
    return display_decimal(value, trim=True)


def _unsigned_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and set(text[1:]) <= {"0", "."} else text


def _scalar(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return display_decimal(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _WHITESPACE.sub(" ", str(value).replace("\u2212", "-"))  # one line: chart text may hold newlines


def plain_value(value: Any) -> str:
    """A value as summary text (plain text, no markup)."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain_value(v) for v in value)
    return _scalar(value)


def markdown_value(value: Any) -> str:
    """A value as GFM text: markdown punctuation escaped, and no '<' that could open a tag (chart text is untrusted)."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(markdown_value(v) for v in value)
    if isinstance(value, bool | int | Decimal | date) or value is None:
        return _scalar(value)
    text = _scalar(value)
    if not _NEEDS_ESCAPING.search(text):  # most text needs none: one scan instead of three
        return text
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = _ENTITY.sub("&amp;", text)
    text = _TAG_START.sub("&lt;", text)
    return "\\" + text if text.startswith(">") else text  # '>' opening a line would start a block quote


def domain_names(names: Iterable[str]) -> str:
    """Data domains in clinician words (the templates' `domains` filter)."""
    return ", ".join(_DOMAIN_NAMES.get(n, n) for n in names)


def fit_summary(candidates: Sequence[str], limit: int = SUMMARY_LIMIT) -> str:
    """The first candidate shorter than `limit`; else the last one cut at a word boundary, marked with '...'."""
    for text in candidates:
        if len(text) < limit:
            return text
    text = candidates[-1]
    room = limit - 1 - len(_ELLIPSIS)
    cut = text[: room + 1].rsplit(" ", 1)[0] if " " in text[: room + 1] else text[:room]
    return cut[:room].rstrip(" ,;:-(") + _ELLIPSIS
