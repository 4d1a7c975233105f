"""Start real servers (the service under gunicorn, sekmet-fhir, ...) on free loopback ports for tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from testkit import traffic_secrets


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


REPO = Path(__file__).resolve().parents[1]


def dockerfile_command(host: str) -> list[str]:
    """The Dockerfile's CMD with the host replaced: tests start the service exactly as the image does. The port
    comes from OSTEO_CDS_PORT, as in the image (its ENV sets it)."""
    match = re.search(r"^CMD (\[.*\])\s*$", (REPO / "Dockerfile").read_text("utf-8"), re.MULTILINE)
    if match is None:
        raise RuntimeError("Dockerfile has no exec-form CMD")
    argv: list[str] = json.loads(match.group(1))
    argv[argv.index("--host") + 1] = host
    script = Path(sys.executable).parent / argv[0]  # the console script installed next to this interpreter
    return [str(script), *argv[1:]]


class ServiceProcess:
    """`osteo-cds serve` as deployed (gunicorn), with its stderr captured to a file for log checks."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, workers: int = 2) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"service-{self.port}.log"
        traffic_secrets.register_log(self.log_path)
        self.env = {
            **os.environ,
            "OSTEO_CDS_AUTH_MODE": "development",
            "OSTEO_CDS_DATA_DIR": str(data_dir),
            "OSTEO_CDS_WORKERS": str(workers),
            **(env or {}),
            "OSTEO_CDS_PORT": str(self.port),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            dockerfile_command("127.0.0.1"),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(self.base_url + "/healthz", self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")
