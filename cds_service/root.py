"""What a person or a client finds around the CDS Hooks endpoints: `GET /` (where everything is), the OpenAPI
description, discovery and services under the URLs that clients build from a discovery URL typed with a trailing
slash, and a log line when a browser call comes from an origin CORS does not allow."""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import yaml
from flask import Blueprint, Response, current_app, request

from cds_service.errors import refusals
from cds_service.services import PATIENT_VIEW
from cds_service.validation import schema

bp = Blueprint("root", __name__)

# Served without a CDS client JWT (listed in hooks._UNAUTHENTICATED_PATHS): links and the API description, no PHI.
ROOT_PATH = "/"
OPENAPI_PATH = "/openapi.json"
_SCHEMAS = {  # OpenAPI component name -> cds_service/schemas/<file>.schema.json
    "HookRequest": "hook-request",
    "CdsResponse": "response",
    "Discovery": "discovery",
    "Feedback": "feedback",
}
_LOGGED_ORIGIN_CHARS = 200


def _package_version() -> str:
    try:
        return version("osteo-cds")
    except PackageNotFoundError:
        return "unknown"


def _base_url() -> str:
    """Links as the client must call them: under OSTEO_CDS_PUBLIC_BASE_URL (which includes any proxy prefix) when
    it is set, else relative to this host."""
    return current_app.extensions["osteo_cds"].settings.public_base_url or ""


def _links() -> dict[str, str]:
    base = _base_url()
    return {
        "discovery": f"{base}/cds-services",
        "service": f"{base}/cds-services/{PATIENT_VIEW.id}",
        "catalog": f"{base}/cds-services/{PATIENT_VIEW.id}/catalog",
        "openapi": f"{base}{OPENAPI_PATH}",
        "health": f"{base}/healthz",
        "readiness": f"{base}/readyz",
        "metrics": f"{base}/metrics",
    }


@bp.get(ROOT_PATH)
def index() -> Response:
    links = _links()
    description = (
        "CDS Hooks 2.0 service (FHIR R4). Register the discovery URL in the EHR or the CDS Hooks sandbox; the "
        "OpenAPI document describes every endpoint."
    )
    about: dict[str, Any] = {
        "name": "osteo-cds",
        "title": PATIENT_VIEW.title,
        "version": _package_version(),
        "description": description,
        "links": links,
    }
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        items = "".join(
            f'<li><a href="{html.escape(url)}">{html.escape(name)}</a> <code>{html.escape(url)}</code></li>'
            for name, url in links.items()
        )
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>osteo-cds</title></head><body>'
            f"<h1>osteo-cds {html.escape(_package_version())}</h1><p>{html.escape(PATIENT_VIEW.title)}.</p>"
            f"<p>{html.escape(description)}</p><ul>{items}</ul></body></html>"
        )
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response
    return Response(json.dumps(about), mimetype="application/json")


@bp.get(OPENAPI_PATH)
def openapi() -> Response:
    document = dict(openapi_document())
    base = _base_url()
    if base:
        document["servers"] = [{"url": base}]
    return Response(json.dumps(document), mimetype="application/json")


@cache
def openapi_document() -> dict[str, Any]:
    """cds_service/openapi.yaml with the request and response JSON Schemas the service validates with (OpenAPI 3.1
    takes JSON Schema 2020-12 as it is), so the description and the validation cannot drift apart."""
    text = resources.files("cds_service").joinpath("openapi.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    document["info"]["version"] = _package_version()
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for component, name in _SCHEMAS.items():
        # Each file's `$defs` become components of their own (`Feedback.coding` -> `Feedback_coding`), so that
        # every `$ref` resolves from the document root in any OpenAPI tool, not only in those that honour `$id`.
        loaded = {k: v for k, v in schema(name).items() if k not in ("$schema", "$id", "$defs")}
        for definition, body in schema(name).get("$defs", {}).items():
            components[f"{component}_{definition}"] = _rewrite_refs(body, component)
        components[component] = _rewrite_refs(loaded, component)
    return document


def _rewrite_refs(node: Any, component: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{component}_{value.removeprefix('#/$defs/')}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _rewrite_refs(value, component)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, component) for item in node]
    return node


# A discovery URL typed with a trailing slash: discovery answers there too (not a redirect, which loses a POST's
# body in some clients and is refused in CORS preflight), and the service URLs clients then build from it
# (`/cds-services//osteoporosis-management`) reach the same endpoints. The JWT `aud` is still the URL as called.
@bp.get("/cds-services/")
def discovery_with_trailing_slash() -> Any:
    return _dispatch(request.path)


@bp.route("/cds-services//<path:rest>", methods=["GET", "POST"], merge_slashes=False)
def service_after_doubled_slash(rest: str) -> Any:
    return _dispatch(request.path)


def _dispatch(path: str) -> Any:
    """The view the path routes to once empty segments are dropped (`/cds-services//x/` -> `/cds-services/x`),
    for this request; an unknown path or method answers 404 / 405 as usual."""
    canonical = "/" + "/".join(segment for segment in path.split("/") if segment)
    adapter = current_app.url_map.bind_to_environ(request.environ)
    endpoint, arguments = adapter.match(canonical, method=request.method)
    return current_app.ensure_sync(current_app.view_functions[endpoint])(**arguments)


@bp.after_app_request
def _log_disallowed_origin(response: Response) -> Response:
    """A browser drops an answer its origin may not read, and the CDS Hooks sandbox then shows "No
    recommendations": say so in the log, with the origin (a web address, no PHI)."""
    origin = request.headers.get("Origin")
    if origin and not current_app.extensions["osteo_cds"].origin_allowed(origin):
        shown = origin[:_LOGGED_ORIGIN_CHARS] if origin.isprintable() else "(unprintable)"
        refusals.info(
            "refused",
            extra={
                "event": "refused",
                "method": request.method,
                "path": request.url_rule.rule if request.url_rule else "(unmatched)",
                "status": response.status_code,
                "reason": "cors-origin-not-allowed",
                "origin": shown,
                "detail": "The browser will not let the page read this answer: its Origin is not in "
                "OSTEO_CDS_CORS_ORIGINS.",
            },
        )
    return response
