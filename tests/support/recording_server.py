"""A tiny HTTP server on 127.0.0.1 that serves fixed JSON documents and records every request it receives.

Used as a CDS client's JWKS endpoint, and as an attacker's endpoint that must never be contacted.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._documents: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(RecordedRequest("GET", self.path, dict(self.headers)))
                    status, body, headers = server._documents.get(self.path, (404, b'{"error": "not found"}', {}))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, document: Any, status: int = 200, headers: dict[str, str] | None = None) -> str:
        """Answer GET `path` with `document` as JSON (replacing what was served before); returns the full URL."""
        with self._lock:
            self._documents[path] = (status, json.dumps(document).encode(), dict(headers or {}))
        return self.url(path)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]
