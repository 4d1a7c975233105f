"""A real FHIR R4 server for integration tests: sekmet-fhir (pinned in pyproject), on 127.0.0.1 and a free port,
with a temporary data directory, the simulator off and strict validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from testkit.processes import free_port, wait_until_up


class SekmetServer:
    def __init__(self, directory: Path, *, bearer_tokens: list[str] | None = None) -> None:
        self.directory = directory
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self.bearer_tokens = bearer_tokens
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SekmetServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        settings: dict[str, Any] = {
            "base_url": self.base_url,
            "host": "127.0.0.1",
            "port": self.port,
            "data_dir": str(self.directory / "data"),
            "log_inbound": False,
            "simulator": {"enabled": False},
            "validation": {"inbound": "strict"},
        }
        if self.bearer_tokens:
            settings["server_auth"] = {"types": ["bearer"], "tokens": self.bearer_tokens}
        config = self.directory / "settings.yaml"
        config.write_text(yaml.safe_dump(settings))
        executable = Path(sys.executable).parent / "sekmet"
        self.process = subprocess.Popen(
            [str(executable), "serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.directory,
            stdout=(self.directory / "sekmet.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until_up(self.base_url + "/metadata", self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def load(self, bundle: dict[str, Any], token: str | None = None) -> None:
        """POST a transaction Bundle; every entry must be created or updated."""
        headers = {"Content-Type": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.post(self.base_url, json=bundle, headers=headers, timeout=30)
        response.raise_for_status()
        statuses = [e["response"]["status"] for e in response.json()["entry"]]
        bad = [s for s in statuses if not s.startswith(("200", "201"))]
        if bad:
            raise RuntimeError(f"sekmet refused entries: {bad}")
