"""Progress lines for the long bench commands: counts, rate and time left, to stderr, at most one line every few
seconds, so a ten-minute run is never silent. `--quiet` turns them off (results still go to stdout)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

DEFAULT_EVERY_SECONDS = 5.0


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """`advance()` counts done units of work out of `total`; a line is printed when `every` seconds have passed
    since the last one. With `time_bound` the work ends at a deadline (a soak), so time left is counted from the
    clock, not from the rate."""

    def __init__(
        self,
        label: str,
        total: float | None,
        unit: str,
        *,
        quiet: bool = False,
        every: float = DEFAULT_EVERY_SECONDS,
        time_bound: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.quiet, self.every, self.time_bound = quiet, every, time_bound
        self.stream = stream
        self.clock = clock
        self.done = 0.0
        self.started = clock()
        self._last_line = self.started
        self._lock = threading.Lock()

    def advance(self, amount: float = 1, note: str = "") -> None:
        with self._lock:
            self.done += amount
            now = self.clock()
            if now - self._last_line >= self.every:
                self._last_line = now
                self._print(self.line(now, note))

    def set(self, done: float, note: str = "") -> None:
        """Report an absolute count (for work counted elsewhere, e.g. by client threads)."""
        self.advance(done - self.done, note)

    def line(self, now: float | None = None, note: str = "") -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        count = f"{self.done:.0f}" + (f"/{self.total:.0f}" if self.total is not None else "")
        if self.time_bound is not None:
            left = f"{duration(self.time_bound - elapsed)} left"
        elif self.total is not None and rate > 0:
            left = f"~{duration((self.total - self.done) / rate)} left"
        else:
            left = "time left unknown"
        return f"{self.label}: {count} {self.unit}, {rate:.1f}/s, {duration(elapsed)} elapsed, {left}" + (
            f"; {note}" if note else ""
        )

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream or sys.stderr, flush=True)


class Ticker:
    """A background thread that prints `progress` every few seconds while work counted elsewhere goes on."""

    def __init__(self, progress: Progress, count: Callable[[], float], note: Callable[[], str] = lambda: "") -> None:
        self.progress, self.count, self.note = progress, count, note
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-progress", daemon=True)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(min(1.0, self.progress.every)):
            self.progress.set(self.count(), self.note())
