"""The floor: the least a CDS service can do with the same request under the same gunicorn settings.

It reads and parses the JSON body and answers `{"cards": []}`. Our service's cost is reported as a ratio to it,
measured in the same run, so a noisy shared machine cancels out.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

app = Flask(__name__)


@app.post("/cds-services/<service_id>")
def hook(service_id: str) -> Response:
    json.loads(request.get_data())
    return Response('{"cards":[]}', mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response('{"status":"ok"}', mimetype="application/json")
