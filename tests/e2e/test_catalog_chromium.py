"""The card catalog page renders in a real browser (headless Chromium): every rule is there, and it is not blank."""

from __future__ import annotations

import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from decision_core.specs import PATIENT_VIEW_RULE_IDS

CATALOG = "/cds-services/osteoporosis-management/catalog"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is required for this test: install Debian's 'chromium' package (apt-get install chromium)"
        )
    return path


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture
def served_app(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The service on a free loopback port, in a thread of this process."""
    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_catalog_page_renders_in_headless_chromium(served_app: str, tmp_path: Path) -> None:
    url = served_app + CATALOG

    dom = run_chromium(tmp_path / "profile-dom", "--dump-dom", url).stdout
    screenshot = tmp_path / "catalog.png"
    run_chromium(
        tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,4000", "--hide-scrollbars", url
    )

    for rule_id in PATIENT_VIEW_RULE_IDS:
        assert f'id="{rule_id}"' in dom, rule_id
    assert dom.count('class="rule"') == len(PATIENT_VIEW_RULE_IDS) == 21
    png = screenshot.read_bytes()
    assert png[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", png[16:24])  # IHDR: the rendered page, not an error stub
    assert (width, height) == (1280, 4000)
    assert len(png) > 200_000  # a blank or nearly empty page compresses to a few kilobytes
