"""The benchmark harness works from a clean clone and measures what it says (structure only, never time)."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bench import stages
from bench.auth import ISSUER, TokenFactory
from bench.auth_floor import create_app as create_auth_floor
from bench.proctree import tree_cpu_seconds, tree_pids
from bench.progress import Progress
from bench.run import REQUEST_KINDS, RequestKind, load_chart, patient_id, service_templates
from testkit.jwt_clients import claims_for

BENCH_MODULES = (
    "bench.run",
    "bench.stages",
    "bench.soak",
    "bench.fuzz",
    "bench.scale_out",
    "bench.floor",
    "bench.auth_floor",
    "bench.floor_gunicorn",
    "bench.decode_cost",
)
AUDIENCE_BASE = "http://127.0.0.1:8080"
HOOK = "/cds-services/osteoporosis-management"


@pytest.mark.parametrize("module", BENCH_MODULES)
def test_every_bench_module_imports(module: str) -> None:
    assert importlib.import_module(module).__doc__


def test_the_benchmark_charts_are_in_the_repository() -> None:
    typical, heavy = load_chart("typical"), load_chart("heavy")
    assert len(typical) == 189
    assert len(heavy) == 1868
    for chart in (typical, heavy):
        patients = [r for r in chart if r["resourceType"] == "Patient"]
        assert len(patients) == 1
        assert "deceasedDateTime" not in patients[0]  # a deceased patient gets no cards: the rules would not run
        assert patient_id(chart) == patients[0]["id"]


@pytest.fixture(scope="module")
def stage_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, TokenFactory, bytes]:
    work = tmp_path_factory.mktemp("stages")
    tokens = TokenFactory(work)
    app = stages.build_app(work, tokens, as_worker=False)
    templates = (
        app.test_client()
        .get("/cds-services", headers=tokens.header(stages.PUBLIC_BASE + "/cds-services"))
        .get_json()["services"][0]["prefetch"]
    )
    typical = next(k for k in REQUEST_KINDS if k.name == "typical")
    yield app, tokens, typical.make(templates).body
    app.extensions["osteo_cds"].close()


def test_every_function_the_hook_calls_is_a_stage_or_listed_glue(stage_app: tuple[object, TokenFactory, bytes]) -> None:
    app, tokens, body = stage_app
    assert stages.coverage_problems(app, tokens, body) == []


def test_a_measured_call_enters_every_stage_and_leaves_the_app_as_it_was(
    stage_app: tuple[object, TokenFactory, bytes],
) -> None:
    app, tokens, body = stage_app
    view = app.view_functions[stages.HOOK_ENDPOINT]
    measured = stages.measure(app, tokens, "typical", body, 189, rounds=1)
    assert measured.cards > 0
    # measure() raises if a required stage was never entered; the typical chart needs no R4B validation at all
    assert {s.name for s in stages.STAGES} - {"chart: R4B model validation"} <= set(measured.calls)
    assert "chart: R4B model validation" not in measured.calls
    assert {stages.FLASK_REST, stages.FREEING, stages.GC} <= set(measured.stages)
    assert app.view_functions[stages.HOOK_ENDPOINT] is view
    import cds_service.hooks
    import cds_service.pipeline

    assert not hasattr(cds_service.pipeline.resolve, "__bench_stage__")
    assert not hasattr(cds_service.hooks.request_json, "__bench_stage__")
    assert "check" not in vars(app.extensions["osteo_cds"].authenticator)


def test_a_stage_whose_function_moved_fails_loudly(
    stage_app: tuple[object, TokenFactory, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, tokens, body = stage_app
    moved = (*stages.STAGES, stages.Stage("card rendering", "cds_service.pipeline:render_all_cards"))
    monkeypatch.setattr(stages, "STAGES", moved)
    with pytest.raises(stages.StageMissing, match="render_all_cards"):
        stages.measure(app, tokens, "typical", body, 189, rounds=1)


def test_a_new_untimed_step_in_the_call_is_reported(
    stage_app: tuple[object, TokenFactory, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, tokens, body = stage_app
    monkeypatch.setattr(stages, "STAGES", tuple(s for s in stages.STAGES if s.name != "decision core"))
    assert stages.coverage_problems(app, tokens, body) == [
        "cds_service.pipeline.evaluate (called from evaluate_resources)"
    ]


@pytest.fixture
def auth_floor(tmp_path: Path) -> tuple[object, TokenFactory]:
    tokens = TokenFactory(tmp_path)
    app = create_auth_floor(tokens.auth_floor_env(AUDIENCE_BASE, tmp_path / "auth-floor"))
    return app.test_client(), tokens


def test_the_auth_floor_answers_a_valid_call_once_and_refuses_its_replay(
    auth_floor: tuple[object, TokenFactory],
) -> None:
    client, tokens = auth_floor
    header = tokens.header(AUDIENCE_BASE + HOOK)
    body = json.dumps({"hook": "patient-view", "prefetch": {"patient": {"resourceType": "Patient"}}})
    first = client.post(HOOK, data=body, headers=header, content_type="application/json")
    assert (first.status_code, first.get_json()) == (200, {"cards": []})
    replay = client.post(HOOK, data=body, headers=header, content_type="application/json")
    assert replay.status_code == 401
    assert replay.get_json()["resourceType"] == "OperationOutcome"


def test_the_auth_floor_checks_audience_signer_and_presence_of_a_token(
    auth_floor: tuple[object, TokenFactory],
) -> None:
    client, tokens = auth_floor
    (tokens.work / "other").mkdir()
    other = TokenFactory(tokens.work / "other")  # a key the floor does not trust
    refused = [
        tokens.header(AUDIENCE_BASE + "/cds-services"),  # wrong endpoint
        other.header(AUDIENCE_BASE + HOOK),
        {"Authorization": "Bearer " + tokens.key.sign(claims_for(AUDIENCE_BASE + HOOK, ISSUER, jti=None))},
        {},
    ]
    for headers in refused:
        assert client.post(HOOK, data="{}", headers=headers, content_type="application/json").status_code == 401


def test_process_tree_includes_children_and_counts_cpu(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in tree_pids(os.getpid())
        assert tree_cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()


def test_progress_lines_tell_count_rate_and_time_left_unless_quiet() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress("bench.x", 10, "cases", stream=out, every=5, clock=lambda: now[0])
    progress.advance(1)
    assert out.getvalue() == ""  # not every call prints
    now[0] = 6.0
    progress.advance(2, "kind a")
    assert out.getvalue() == "bench.x: 3/10 cases, 0.5/s, 6s elapsed, ~14s left; kind a\n"
    quiet = io.StringIO()
    silent = Progress("bench.x", 10, "cases", stream=quiet, every=0, quiet=True)
    silent.advance(5)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("kind", REQUEST_KINDS, ids=[k.name for k in REQUEST_KINDS])
def test_every_request_kind_is_answered_by_the_service_it_calls(kind: RequestKind, client: FlaskClient) -> None:
    services = client.get("/cds-services").get_json()["services"]

    call = kind.make(service_templates(services, kind.path))
    response = client.post(kind.path, data=call.body, content_type="application/json")

    assert response.status_code == 200, response.get_data(as_text=True)
    rules = {card["source"]["topic"]["code"] for card in response.get_json()["cards"]}
    if kind.path.endswith("order-sign"):
        assert all(rule.startswith("ORD-") for rule in rules)  # an order card speaks only about the order


def test_the_report_states_the_cpu_goal_as_a_budget_for_the_services_own_work() -> None:
    from bench.run import AUTH_FLOOR, FLOOR, GOAL_RATIO, SERVICE, Cell, _budget_lines

    cell = Cell("typical", 189, 140_000, 1)
    for server, cpu_ms in ((FLOOR, 1.4), (AUTH_FLOOR, 2.0), (SERVICE, 6.0)):
        cell.rounds[server] = [{"cpu_ms_per_request": cpu_ms}, {"cpu_ms_per_request": cpu_ms + 0.2}]
    busy = Cell("typical", 189, 140_000, 8)  # only concurrency 1 is reported
    busy.rounds = {server: list(rounds) for server, rounds in cell.rounds.items()}
    lines = _budget_lines([cell, busy])
    rows = [line for line in lines if line.startswith("| typical")]
    # auth floor median 2.1 ms: the budget is (1.5 - 1) x 2.1; the service spends 6.1 - 2.1 beyond it
    assert GOAL_RATIO == 1.5
    assert rows == ["| typical | 2.10 | 1.05 | 4.00 | 3.8 × |"]
    assert _budget_lines([busy]) == []
