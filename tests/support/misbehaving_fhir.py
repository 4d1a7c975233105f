"""A small, real HTTP server that misbehaves the way broken FHIR servers do, for fault-injection tests.

It listens on 127.0.0.1 (a free port) under `/fhir`. Each test says how it answers per route, the first path segment
under the base (the resource type: `Patient`, `Observation`, `Condition`, ...), with one of the behaviours below:

    with MisbehavingFhirServer() as server:
        server.on("Observation", stall(5))
        server.on("Condition", sequence(status(503), ok(searchset([]))))
        ... server.base_url ... server.requests_to("Observation") ...

Routes without a behaviour answer 404 with an OperationOutcome. Every request is recorded (method, path with query,
headers) before it is answered, so tests can count requests and check where a bearer token went. Behaviours that
wait (stalls, trickles) wake up when the server stops, so stopping never waits for them.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # path and query string as sent
    headers: dict[str, str]

    @property
    def route(self) -> str:
        return route_of(self.path)

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)


def route_of(target: str) -> str:
    """`/fhir/Observation?patient=1` → `Observation`; `/fhir/Patient/1` → `Patient`; outside `/fhir` → the path."""
    path = urlsplit(target).path
    if not path.startswith(PREFIX + "/"):
        return path
    return path[len(PREFIX) + 1 :].split("/")[0]


class Exchange:
    """One request being answered: what a behaviour sees, and the ways it can answer."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: MisbehavingFhirServer, number: int) -> None:
        self._handler = handler
        self.server = server
        self.path = handler.path
        self.headers = dict(handler.headers)
        self.number = number  # 0 for the first request on this route, 1 for the second, ...

    @property
    def url(self) -> str:
        return self.server.origin + self.path

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the server is stopping (the behaviour should then give up)."""
        return self.server.stopping.wait(seconds)

    def send_head(
        self,
        status: int,
        *,
        content_type: str = FHIR_JSON,
        length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        handler = self._handler
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        if length is not None:
            handler.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()

    def write(self, data: bytes) -> None:
        self._handler.wfile.write(data)
        self._handler.wfile.flush()

    def send(
        self, status: int, body: bytes, *, content_type: str = FHIR_JSON, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_head(status, content_type=content_type, length=len(body), headers=headers)
        self.write(body)

    def send_json(self, status: int, document: Any, *, headers: Mapping[str, str] | None = None) -> None:
        self.send(status, json.dumps(document).encode(), headers=headers)

    def reset(self) -> None:
        """Abort the connection with a TCP reset, without a byte of answer."""
        connection: socket.socket = self._handler.connection
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._handler.close_connection = True
        connection.close()


Behaviour = Callable[[Exchange], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops parallel connects (the client waits 1 s)

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.handler_threads: list[threading.Thread] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        self.handler_threads = [t for t in self.handler_threads if t.is_alive()]
        self.handler_threads.append(thread)
        thread.start()


class MisbehavingFhirServer:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._routes: dict[str, Behaviour] = {}
        self._requests: list[RecordedRequest] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30  # socket timeout: a client that stops reading cannot pin a handler thread forever

            def do_GET(self) -> None:
                route = route_of(self.path)
                with server._lock:
                    server._requests.append(RecordedRequest("GET", self.path, dict(self.headers)))
                    number = server._counts.get(route, 0)
                    server._counts[route] = number + 1
                    behaviour = server._routes.get(route, status(404))
                try:
                    behaviour(Exchange(self, server, number))
                except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
                    self.close_connection = True  # the client gave up (its deadline): nothing left to answer

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return None

        self._server = _Server(Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = self.origin + PREFIX
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> MisbehavingFhirServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        for thread in list(self._server.handler_threads):
            thread.join(timeout=5)

    def __enter__(self) -> MisbehavingFhirServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def on(self, route: str, behaviour: Behaviour) -> MisbehavingFhirServer:
        """Answer requests on `route` (a resource type, e.g. `Observation`) with `behaviour` from now on."""
        with self._lock:
            self._routes[route] = behaviour
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def busy_handlers(self) -> int:
        """Handler threads still answering (e.g. still trickling a body to a client)."""
        return sum(t.is_alive() for t in self._server.handler_threads)


# --- behaviours ----------------------------------------------------------------------------------------------------


def searchset(resources: list[dict[str, Any]], *, next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url is not None:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def outcome(text: str, *, code: str = "exception") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


def ok(document: Any) -> Behaviour:
    """200 with `document` as FHIR JSON."""
    body = json.dumps(document).encode()
    return lambda exchange: exchange.send(200, body)


def status(code: int, document: Any | None = None, *, headers: Mapping[str, str] | None = None) -> Behaviour:
    """`code` with an OperationOutcome (or `document`) as body."""
    body = json.dumps(document if document is not None else outcome(f"simulated HTTP {code}")).encode()
    return lambda exchange: exchange.send(code, body, headers=headers)


def stall(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Read the request, say nothing for `seconds`, then answer with `then` (an empty searchset by default)."""
    answer = then or ok(searchset([]))

    def behave(exchange: Exchange) -> None:
        if not exchange.wait(seconds):
            answer(exchange)

    return behave


def trickle(document: Any, *, interval: float = 0.05) -> Behaviour:
    """Send 200 and the headers at once, then the body one byte every `interval` seconds: each read is quick, so a
    per-read timeout never fires; only an overall deadline stops the client."""
    body = json.dumps(document).encode()

    def behave(exchange: Exchange) -> None:
        exchange.send_head(200, length=len(body))
        for i in range(len(body)):
            exchange.write(body[i : i + 1])
            if exchange.wait(interval):
                return

    return behave


def malformed_json() -> Behaviour:
    """200 FHIR JSON cut off in the middle of the Bundle."""
    return lambda exchange: exchange.send(200, b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"reso')


def not_a_resource() -> Behaviour:
    """200 with valid JSON that is no FHIR resource."""
    return lambda exchange: exchange.send(200, b'[{"error": "not today"}]')


def html_error_page(code: int = 200) -> Behaviour:
    """An HTML page from a proxy or a login portal, in place of FHIR JSON."""
    page = b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Oops</h1></body></html>"
    return lambda exchange: exchange.send(code, page, content_type="text/html; charset=utf-8")


def endless_next(make_page_resources: Callable[[int], list[dict[str, Any]]]) -> Behaviour:
    """Every page links to a next page with a fresh URL (so no URL repeats and only a page cap stops a client)."""

    def behave(exchange: Exchange) -> None:
        path = urlsplit(exchange.path).path
        next_url = f"{exchange.server.origin}{path}?page={exchange.number + 1}&cursor={uuid.uuid4().hex}"
        exchange.send_json(200, searchset(make_page_resources(exchange.number), next_url=next_url))

    return behave


def next_loop(resources: list[dict[str, Any]]) -> Behaviour:
    """A searchset whose next link is the very URL that was requested."""
    return lambda exchange: exchange.send_json(200, searchset(resources, next_url=exchange.url))


class HugeBundle:
    """A single searchset page of `count` resources, serialised once (its `size` in bytes is known up front)."""

    def __init__(self, count: int, make_resource: Callable[[int], dict[str, Any]]) -> None:
        self.body = json.dumps(searchset([make_resource(i) for i in range(count)])).encode()
        self.size = len(self.body)

    def __call__(self, exchange: Exchange) -> None:
        exchange.send(200, self.body)


def huge_bundle(count: int, make_resource: Callable[[int], dict[str, Any]]) -> HugeBundle:
    """A searchset of `count` resources in one page (50,000 small Observations are about 18 MB)."""
    return HugeBundle(count, make_resource)


def redirect(location: str, code: int = 302) -> Behaviour:
    """A redirect to `location` (e.g. another host that must never see the bearer token)."""
    return lambda exchange: exchange.send(code, b"", headers={"Location": location})


def wrong_patient(document: dict[str, Any], other_patient: str) -> Behaviour:
    """`document` (a resource or a searchset) with every patient reference and Patient id rewritten to another one."""

    def rewrite(resource: dict[str, Any]) -> dict[str, Any]:
        resource = dict(resource)
        if resource.get("resourceType") == "Patient":
            resource["id"] = other_patient
        for key in ("subject", "patient"):
            if isinstance(resource.get(key), dict):
                resource[key] = {"reference": f"Patient/{other_patient}"}
        return resource

    if document.get("resourceType") == "Bundle":
        rewritten = dict(document)
        rewritten["entry"] = [dict(e, resource=rewrite(e["resource"])) for e in document.get("entry", [])]
        return ok(rewritten)
    return ok(rewrite(document))


def bundle_with_error_outcome() -> Behaviour:
    """A searchset whose only entry is an error OperationOutcome: the search failed, though the status is 200."""
    bundle = searchset([outcome("search failed: index unavailable")])
    bundle["entry"][0]["search"] = {"mode": "outcome"}
    return ok(bundle)


def connection_reset() -> Behaviour:
    """Read the request, then reset the connection without answering."""
    return lambda exchange: exchange.reset()


def sequence(*behaviours: Behaviour) -> Behaviour:
    """The n-th request on the route gets the n-th behaviour; the last one answers every request after that."""

    def behave(exchange: Exchange) -> None:
        behaviours[min(exchange.number, len(behaviours) - 1)](exchange)

    return behave
