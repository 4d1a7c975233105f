"""nginx (Debian's package) as the load balancer in front of several service instances, on 127.0.0.1.

The configuration is the one `deploy/` documents for a plain reverse proxy; `render_config` is also used by
`bench/scale_out.py`, so manual trials and the test run the same proxy rules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from cds_service.cli import MAX_HEADER_FIELD_BYTES
from testkit.processes import free_port

# Why these proxy rules:
# - `proxy_next_upstream error timeout` (nginx's default set, written out) moves a request to the other instance
#   when the first cannot be connected to — a dead instance refuses connections, so nothing was sent and moving
#   the request is always safe. `non_idempotent` is deliberately NOT set: a POST that already reached an instance
#   that then died is answered 502 instead of being resent. Resending it would be harmless for the data (feedback is
#   idempotent by content hash, a hook call only adds issued-card bookkeeping) but not for authentication: the
#   resent request carries the same JWT, and if the dead instance had already recorded its `jti` in the shared
#   replay cache, the second instance would refuse it with 401 — telling the EHR its credentials are wrong when
#   the truth is "retry". With a 502 the EHR retries with a fresh token and gets its answer.
# - Caveat: nginx does resend an idempotent GET (discovery) that already reached a dying instance; if that
#   instance had recorded the jti, the resend gets 401. The window is the few microseconds between the replay
#   check and the answer of a discovery call, which EHRs make at configuration time, not per chart.
# - http_502/http_503 are not in the list either: the service answers 503 only from /readyz, and no instance
#   answers 502, so those would only resend requests that were already processed.
# - `max_fails=1 fail_timeout=5s`: after one failed connection the instance is skipped for 5 s, then tried again
#   (a refused connection is again moved on transparently).
# - Errors nginx itself produces (502/504) get a FHIR OperationOutcome body like every other error of this service.
# - `large_client_header_buffers`: one header line may be as long as gunicorn accepts (cds_service.cli
#   MAX_HEADER_FIELD_BYTES: the 16 KiB bearer-token cap plus 1 KiB), so a token the service would read reaches it
#   and gets the service's 401, not nginx's 400 "Request Header Or Cookie Too Large" (default 4 x 8k).
CONFIG_TEMPLATE = """\
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    client_max_body_size {max_body_bytes};
    large_client_header_buffers 4 {header_buffer_kib}k;
    upstream osteo {{
{servers}
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://osteo;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            error_page 502 504 @upstream_failed;
        }}
        location @upstream_failed {{
            default_type application/json;
            add_header Cache-Control no-store always;
            add_header Retry-After 1 always;
            return 502 '{{"resourceType":"OperationOutcome","issue":[{{"severity":"error","code":"transient",\
"diagnostics":"The service instance failed before answering; retry the request (with a new JWT)."}}]}}';
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    return found


def render_config(
    directory: Path, listen_port: int, upstream_ports: Sequence[int], max_body_bytes: int = 5 * 1024 * 1024
) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstream_ports)
    return CONFIG_TEMPLATE.format(
        directory=directory,
        listen=f"127.0.0.1:{listen_port}",
        servers=servers,
        max_body_bytes=max_body_bytes,
        header_buffer_kib=MAX_HEADER_FIELD_BYTES // 1024,
    )


class NginxProxy:
    """A foreground nginx (no daemon) balancing `upstream_ports`, all its files in `directory`."""

    def __init__(self, directory: Path, upstream_ports: Sequence[int], port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.upstream_ports = list(upstream_ports)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> NginxProxy:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # A root master runs its workers as `nobody`, which must reach the temp directories it writes request
            # bodies to; pytest's temp folders are private to root (0700), so open the path for traversal only.
            for folder in (self.directory, *self.directory.parents):
                if folder == Path("/"):
                    break
                folder.chmod(folder.stat().st_mode | 0o011)
        config = self.directory / "nginx.conf"
        config.write_text(render_config(self.directory, self.port, self.upstream_ports), "utf-8")
        log = (self.directory / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            [nginx_binary(), "-c", str(config), "-p", str(self.directory)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.error_log()[-2000:]}")
            try:
                requests.get(self.base_url + "/healthz", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.05)
        raise TimeoutError(f"nginx did not answer within {timeout} s")

    def error_log(self) -> str:
        parts = [self.directory / name for name in ("nginx.out", "error.log")]
        return "".join(p.read_text("utf-8", errors="replace") for p in parts if p.exists())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
