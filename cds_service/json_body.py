"""JSON text as this service accepts it: a client's request body (and, from the next change, a FHIR server's answer).

One small module so the HTTP layer (hooks and feedback) has a single place where bytes become JSON values.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from cds_service.errors import CdsError

# The deepest nesting of objects and arrays accepted anywhere in a JSON text (the outermost value is level 1).
# A FHIR resource inside a prefetch searchset sits at level 6 and real resources add about 10 more (components,
# codings, nested extensions); a Bundle nested in a Bundle adds 4. 64 leaves a wide margin for real data while
# keeping every later stage that recurses (jsonschema, quirk repair, the R4B models) far from Python's
# recursion limit.
MAX_JSON_DEPTH = 64


def request_json() -> Any:
    """The request body as a JSON value, or CdsError(400) with an OperationOutcome."""
    raw = request.get_data(cache=False)  # 413 above MAX_CONTENT_LENGTH, before anything is parsed
    if not raw:
        raise CdsError(400, "The request body is empty; a JSON object is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CdsError(400, "The request body is not valid JSON.") from None
