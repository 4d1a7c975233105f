"""The parse floor: the least any JSON service can do with the same request under the same gunicorn settings.

It reads and parses the JSON body and answers `{"cards": []}`; no authentication. bench.run measures it beside
the auth floor (bench/auth_floor.py: this plus the JWT check and replay record a conformant CDS service must do)
and the service, interleaved in the same run, so a noisy shared machine affects all three alike.
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
