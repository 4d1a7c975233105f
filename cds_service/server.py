"""Helpers of `osteo-cds serve` (cli.py): the worker count, the port check, gunicorn's own logs as JSON."""

from __future__ import annotations

import errno
import socket
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from cds_service.config import Settings
from cds_service.logs import JsonFormatter
from cds_service.workers import WorkerCount, cpu_budget, default_workers


class PortUnavailable(Exception):
    """The address cannot be listened on; the message says why, for the operator."""


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's own lines (starting, listening, worker boots and exits, signals) as JSON like the service's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


def worker_count(settings: Settings, override: int | None = None) -> WorkerCount:
    """The worker count `serve` uses and where it comes from (also printed by `osteo-cds config`)."""
    if override:
        return WorkerCount(override, "from --workers")
    if settings.workers:
        return WorkerCount(settings.workers, "from OSTEO_CDS_WORKERS")
    return default_workers(cpu_budget())


def check_port(host: str, port: int) -> None:
    """Fail now with one clear sentence rather than let gunicorn retry five times and say "Can't connect"."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(
                    f"port {port} is in use (on {host}): stop what listens there, or choose another port with "
                    "--port or OSTEO_CDS_PORT"
                ) from None
            raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None
