"""A throwaway PostgreSQL server (Debian's postgresql package) on 127.0.0.1 and a free port.

PostgreSQL refuses to run as root, so under root the server runs as the `postgres` system user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

from testkit.processes import free_port


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: install the Debian package 'postgresql'")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.bin = _binaries()
        self.process: subprocess.Popen[bytes] | None = None
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://osteo@127.0.0.1:{self.port}/osteo"

    def _run(self, *argv: str, background: bool = False) -> subprocess.Popen[bytes] | None:
        command = list(argv)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        log = (self.directory / "postgres.log").open("ab")
        if background:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd="/")
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, cwd="/")
        return None

    def start(self) -> PostgresServer:
        data = self.directory / "pgdata"
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.directory, "postgres")
            self.directory.chmod(0o755)
            for parent in self.directory.parents:  # the postgres user must reach its data directory
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "osteo", "--auth=trust", "-E", "UTF8")
        self.process = self._run(
            str(self.bin / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.directory),
            "-c",
            "fsync=on",
            "-c",
            "synchronous_commit=on",
            background=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise TimeoutError("PostgreSQL did not start")
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "osteo", "osteo"],
            check=True,
            capture_output=True,
        )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # "smart" shutdown of the postmaster (runuser forwards the signal)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
