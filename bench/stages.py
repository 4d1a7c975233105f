"""Where a real hook call's CPU goes, stage by stage, in one process (the real app through WSGI, no HTTP).

    .venv/bin/python -m bench.stages [--rounds 30] [--kinds typical,heavy,order-sign] [--parsing typed|strict]

Each round is one complete call of the production-mode app — a fresh ES384 JWT verified and its jti inserted into
the default SQLite replay store, the body read and parsed, validation, prefetch, facts, rules, cards, the
response, Flask/werkzeug around it all, and freeing the parsed body — timed with this thread's CPU clock
(time.thread_time_ns). Stages are timed by wrapping the service's functions from the bench side (STAGES, below);
each stage's figure is its own time, without the stages it calls, so the rows add up to the instrumented call's
total. What no stage claims is the "Flask/werkzeug, WSGI and glue" row; garbage collection is its own row
(gc.callbacks). Printed beside the total: the same call's CPU without any stage timers (the figure that matters;
the difference is the timers' own cost), and the process CPU per call, which adds other threads (the issued-card
writer). What it leaves out: gunicorn's HTTP parsing and socket I/O (bench.run measures those, in the floors too).

When the service's code moves and a wrapped function is no longer where STAGES says, or is no longer called, this
command stops with a message naming the stage: update STAGES rather than trust a row of zeros.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.auth import TokenFactory

PUBLIC_BASE = "https://cds.bench.example.org"
SERVICE_PATH = "/cds-services/osteoporosis-management"
FLASK_REST = "Flask/werkzeug, WSGI and glue (no stage)"
GC = "garbage collection"
FREEING = "freeing the parsed request body"


class StageMissing(RuntimeError):
    """A stage's function is not where STAGES says, or the real call never reached it."""


@dataclass(frozen=True)
class Stage:
    """`target` is "module:attribute" (the name the caller looks up, e.g. cds_service.pipeline:resolve),
    "@attr.path" (an attribute of the app's runtime object, e.g. @authenticator.check), or "flask:view",
    "flask:before_request", "flask:after_request" (the hook's view function and the app's request hooks)."""

    name: str
    target: str
    required: bool = True  # entered at least once in every call


STAGES: tuple[Stage, ...] = (
    Stage("auth: JWT verify + claims (PyJWT)", "@authenticator.check"),
    Stage("auth: replay-cache insert", "@authenticator.replay_cache.first_use"),
    Stage("before-request (auth dispatch, CORS)", "flask:before_request"),
    Stage("body read + JSON parse", "cds_service.hooks:request_json"),
    Stage("HookRequest validation", "cds_service.hooks:parse_hook_request"),
    Stage("prefetch resolve + patient filter", "cds_service.pipeline:resolve"),
    Stage("chart: intake (dedupe, Medication index, dated results)", "fhir_mappings.extract:_intake"),
    Stage("chart: outdated-result scan", "fhir_mappings.extract:_outdated_observations"),
    Stage("chart: relevance checks", "fhir_mappings.extract:_relevant"),
    # Typed mode decodes each relevant entry with msgspec and validates with R4B only what that leaves (none of the
    # benchmark charts' entries); strict mode (--parsing strict) validates every one with R4B.
    Stage("chart: typed decoding (msgspec)", "fhir_mappings.typed_decoding:decode", required=False),
    Stage("chart: R4B model validation", "fhir_mappings.typed_decoding:parse", required=False),
    Stage("chart: mapping to facts (rest)", "cds_service.pipeline:extract_facts"),
    Stage("decision core", "cds_service.pipeline:evaluate"),
    Stage("card rendering", "cds_service.pipeline:render_cards"),
    Stage("issued-card queue", "@store.record_issued"),
    Stage("response JSON", "cds_service.hooks:json_response"),
    Stage("view glue (call_service, run_hook)", "flask:view"),
    Stage("after-request (headers, metrics, request log)", "flask:after_request"),
)
HOOK_ENDPOINT = "cds.call_service"
# Functions the view reaches through these are checked too (coverage_problems): each function of ours they call
# must be a stage or listed in GLUE.
DESCEND = ("cds_service.pipeline:run_hook", "cds_service.pipeline:evaluate_resources")
GLUE = frozenset(
    {
        "runtime",
        "_known_service",
        "now",
        "from_settings",
        "after",
        "missing_required",
        "resources",
        "unavailable_domains",
        "partial_domains",
        "run_hook",
        "evaluate_resources",
        "resolve_data",
        "render_options",
        "__init__",
        "__post_init__",
        "__bool__",  # SiteRules: any site rule changes (cheap)
        "__eq__",
        "__hash__",
    }
)
OUR_PACKAGES = ("cds_service", "fhir_mappings", "decision_core", "cards")


class Recorder:
    """Exclusive thread-CPU time per stage, in the measuring thread only (other threads pass through)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.active = False
        self.totals: defaultdict[str, int] = defaultdict(int)
        self.calls: Counter[str] = Counter()
        self._children: list[int] = []  # per open stage: time spent in stages it called
        self._gc_started = 0

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.thread_time_ns

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.active or threading.get_ident() != self.thread:
                return function(*args, **kwargs)
            started = clock()
            self._children.append(0)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = clock() - started
                self.totals[name] += elapsed - self._children.pop()
                self.calls[name] += 1
                if self._children:
                    self._children[-1] += elapsed

        timed.__bench_stage__ = name  # type: ignore[attr-defined]
        return timed

    def gc_callback(self, phase: str, _info: dict[str, Any]) -> None:
        if not self.active or threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._gc_started = time.thread_time_ns()
        elif self._gc_started:
            elapsed = time.thread_time_ns() - self._gc_started
            self._gc_started = 0
            self.totals[GC] += elapsed
            self.calls[GC] += 1
            if self._children:
                self._children[-1] += elapsed

    def reset(self) -> None:
        self.totals.clear()
        self.calls.clear()


def _resolve(target: str, runtime: Any) -> tuple[Any, str]:
    """(owner object, attribute name) for a module or runtime target; StageMissing when it is not there."""
    if target.startswith("@"):
        *path, attribute = target[1:].split(".")
        owner = runtime
        for part in path:
            owner = getattr(owner, part, None)
            if owner is None:
                raise StageMissing(f"the runtime has no {'.'.join(path)} (stage target {target})")
    else:
        module_name, attribute = target.split(":")
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            raise StageMissing(f"module {module_name} is gone (stage target {target})") from None
    if not callable(getattr(owner, attribute, None)):
        raise StageMissing(f"{target} does not exist any more")
    return owner, attribute


@contextmanager
def instrumented(app: Any, recorder: Recorder) -> Iterator[None]:
    """Wrap every stage for the duration; everything is put back afterwards."""
    runtime = app.extensions["osteo_cds"]
    undo: list[Callable[[], None]] = []
    try:
        for stage in STAGES:
            if stage.target == "flask:view":
                if HOOK_ENDPOINT not in app.view_functions:
                    raise StageMissing(f"the app has no view {HOOK_ENDPOINT!r} (stage {stage.name!r})")
                original = app.view_functions[HOOK_ENDPOINT]
                app.view_functions[HOOK_ENDPOINT] = recorder.wrap(stage.name, original)
                undo.append(lambda original=original: app.view_functions.__setitem__(HOOK_ENDPOINT, original))
            elif stage.target in ("flask:before_request", "flask:after_request"):
                registry = getattr(app, stage.target.split(":")[1] + "_funcs")
                for key, functions in registry.items():
                    saved = list(functions)
                    functions[:] = [recorder.wrap(stage.name, f) for f in saved]
                    undo.append(lambda functions=functions, saved=saved: functions.__setitem__(slice(None), saved))
                    del key
            else:
                owner, attribute = _resolve(stage.target, runtime)
                had_own = attribute in getattr(owner, "__dict__", {})
                original = getattr(owner, attribute)
                setattr(owner, attribute, recorder.wrap(stage.name, original))
                if had_own:
                    undo.append(lambda o=owner, a=attribute, f=original: setattr(o, a, f))
                else:  # an instance attribute shadowing the class's method: remove it again
                    undo.append(lambda o=owner, a=attribute: delattr(o, a))
        gc.callbacks.append(recorder.gc_callback)
        undo.append(lambda: gc.callbacks.remove(recorder.gc_callback))
        yield
    finally:
        for action in reversed(undo):
            action()


# --- the app and its calls ---------------------------------------------------------------------------------


def build_app(work: Path, tokens: TokenFactory, *, as_worker: bool = True, parsing: str = "typed") -> Any:
    """The production-mode app, as one gunicorn worker has it: metrics in multiprocess mode (chosen before
    prometheus_client is first imported) and the GC tuned. `as_worker=False` (tests) changes neither."""
    if as_worker:
        (work / "metrics").mkdir(exist_ok=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(work / "metrics"))
    from cds_service import create_app
    from cds_service.config import Settings
    from cds_service.gc_tuning import tune_garbage_collector

    settings = Settings.from_env(
        {
            **tokens.service_env(PUBLIC_BASE),
            "OSTEO_CDS_DATA_DIR": str(work / "data"),
            "OSTEO_CDS_LOG_LEVEL": "WARNING",
            "OSTEO_CDS_MAX_BODY_BYTES": str(32 * 1024 * 1024),
            "OSTEO_CDS_FHIR_PARSING": parsing,
        }
    )
    app = create_app(settings)
    if as_worker:
        tune_garbage_collector()
    return app


class HookCaller:
    """One real call through the app's WSGI interface; the environ is built before the clock starts."""

    def __init__(self, app: Any, tokens: TokenFactory, body: bytes, path: str = SERVICE_PATH) -> None:
        self.app, self.tokens, self.body, self.path = app, tokens, body, path
        self.held: list[Any] = []  # parsed bodies kept past the call when freeing is timed on its own

    def environ(self) -> dict[str, Any]:
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(
            path=self.path,
            base_url=PUBLIC_BASE,
            method="POST",
            data=self.body,
            content_type="application/json",
            headers=self.tokens.header(PUBLIC_BASE + self.path),
        )
        try:
            return builder.get_environ()
        finally:
            builder.close()

    def call(self, environ: dict[str, Any]) -> bytes:
        statuses: list[str] = []
        result = self.app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        try:
            answer = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if not statuses or not statuses[0].startswith("200"):
            raise RuntimeError(f"the hook answered {statuses[:1]}: {answer[:300]!r}")
        return answer


@dataclass
class Measurement:
    name: str
    resources: int
    cards: int
    stages: dict[str, float]  # ms per call, median over rounds
    calls: dict[str, float]  # times entered per call
    instrumented_ms: float
    whole_call_ms: float
    process_ms: float


def measure(
    app: Any, tokens: TokenFactory, name: str, body: bytes, resources: int, rounds: int, path: str = SERVICE_PATH
) -> Measurement:
    caller = HookCaller(app, tokens, body, path)
    cards = len(json.loads(caller.call(caller.environ()))["cards"])  # warm-up; also checks the call works
    caller.call(caller.environ())
    runtime = app.extensions["osteo_cds"]

    # The whole call, no stage timers: thread CPU per call, and process CPU (all threads) over the rounds.
    whole: list[float] = []
    environs = [caller.environ() for _ in range(rounds)]
    process_started = time.process_time()
    for environ in environs:
        started = time.thread_time_ns()
        caller.call(environ)
        whole.append((time.thread_time_ns() - started) / 1e6)
    flush = getattr(runtime.store, "flush_issued", None)
    if flush is not None:  # the issued-card writer's batch for these calls, counted in their process CPU
        flush()
    process_ms = (time.process_time() - process_started) * 1000 / rounds

    recorder = Recorder()
    per_round: list[dict[str, float]] = []
    totals: list[float] = []
    calls: Counter[str] = Counter()
    environs = [caller.environ() for _ in range(rounds)]
    with instrumented(app, recorder), holding_bodies(caller):
        for environ in environs:
            recorder.reset()
            recorder.active = True
            started = time.thread_time_ns()
            caller.call(environ)
            freeing_started = time.thread_time_ns()
            caller.held.clear()
            ended = time.thread_time_ns()
            recorder.active = False
            stages = {k: v / 1e6 for k, v in recorder.totals.items()}
            stages[FREEING] = (ended - freeing_started) / 1e6
            stages[FLASK_REST] = (freeing_started - started) / 1e6 - sum(v for k, v in stages.items() if k != FREEING)
            per_round.append(stages)
            totals.append((ended - started) / 1e6)
            calls.update(recorder.calls)
    missing = [s.name for s in STAGES if s.required and calls[s.name] == 0]
    if missing:
        raise StageMissing(
            f"the {name} call never entered: {', '.join(missing)}. The service's call path has moved: update "
            "STAGES in bench/stages.py"
        )
    names = [s.name for s in STAGES] + [GC, FLASK_REST, FREEING]
    return Measurement(
        name,
        resources,
        cards,
        {n: statistics.median(r.get(n, 0.0) for r in per_round) for n in names},
        {n: calls[n] / rounds for n in names if n in calls},
        statistics.median(totals),
        statistics.median(whole),
        process_ms,
    )


@contextmanager
def holding_bodies(caller: HookCaller) -> Iterator[None]:
    """Keep each parsed body alive past the call (appended by a wrapper around the body stage), so that freeing
    it is timed as a stage of its own instead of inside whichever stage drops the last reference."""
    import cds_service.hooks as hooks

    original = hooks.request_json

    def keeping(*args: Any, **kwargs: Any) -> Any:
        parsed = original(*args, **kwargs)
        caller.held.append(parsed)
        return parsed

    hooks.request_json = functools.wraps(original)(keeping)
    try:
        yield
    finally:
        hooks.request_json = original


def coverage_problems(app: Any, tokens: TokenFactory, body: bytes, path: str = SERVICE_PATH) -> list[str]:
    """Functions of our packages that the hook's view (or DESCEND) calls directly and that no stage times and
    GLUE does not list: a new step in the call path that bench.stages would silently book under Flask/glue."""
    runtime = app.extensions["osteo_cds"]
    view = app.view_functions.get(HOOK_ENDPOINT)
    if view is None:
        return [f"the app has no view {HOOK_ENDPOINT!r}"]
    parents = {view.__code__}
    for target in DESCEND:
        owner, attribute = _resolve(target, runtime)
        parents.add(getattr(owner, attribute).__code__)
    timed: set[Any] = set()
    for stage in STAGES:
        if stage.target.startswith("flask:"):
            continue
        owner, attribute = _resolve(stage.target, runtime)
        function = getattr(owner, attribute)
        timed.add(getattr(function, "__func__", function).__code__)
    seen: set[str] = set()
    problems: list[str] = []

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event != "call" or frame.f_back is None or frame.f_back.f_code not in parents:
            return
        code = frame.f_code
        module = frame.f_globals.get("__name__", "")
        if code in timed or code in parents or not module.startswith(OUR_PACKAGES):
            return
        if code.co_name in GLUE or code.co_name.startswith("<"):
            return
        label = f"{module}.{code.co_qualname} (called from {frame.f_back.f_code.co_qualname})"
        if label not in seen:
            seen.add(label)
            problems.append(label)

    caller = HookCaller(app, tokens, body, path)
    environ = caller.environ()
    sys.setprofile(profile)
    try:
        caller.call(environ)
    finally:
        sys.setprofile(None)
    return problems


# --- main --------------------------------------------------------------------------------------------------


def table(measurements: list[Measurement]) -> str:
    names = [s.name for s in STAGES] + [GC, FLASK_REST, FREEING]
    width = max(len(n) for n in names) + 2
    header = f"{'ms of thread CPU per call':{width}}" + "".join(f"{m.name:>12}" for m in measurements)
    lines = [
        header,
        f"{'(resources / cards)':{width}}" + "".join(f"{f'{m.resources} / {m.cards}':>12}" for m in measurements),
        "-" * len(header),
    ]
    for name in names:
        lines.append(f"{name:{width}}" + "".join(f"{m.stages[name]:12.3f}" for m in measurements))
    lines += [
        "-" * len(header),
        f"{'sum of the rows (instrumented call)':{width}}"
        + "".join(f"{sum(m.stages.values()):12.3f}" for m in measurements),
        f"{'whole call, no stage timers':{width}}" + "".join(f"{m.whole_call_ms:12.3f}" for m in measurements),
        f"{'  gap (the stage timers own cost)':{width}}"
        + "".join(f"{sum(m.stages.values()) - m.whole_call_ms:12.3f}" for m in measurements),
        f"{'process CPU per call (all threads)':{width}}" + "".join(f"{m.process_ms:12.3f}" for m in measurements),
        "",
        "Medians over rounds, each row without the stages it calls. Times a stage was entered per call: "
        + "; ".join(
            f"{m.name}: "
            + ", ".join(f"{n.split(':')[-1].strip()} {c:g}" for n, c in m.calls.items() if c > 1 and n != GC)
            for m in measurements
        ),
        "Left out: gunicorn's HTTP parsing and socket I/O (bench.run measures the whole server, floors alike).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stages", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--kinds", default="typical,heavy,order-sign", help="request kinds of bench.run")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--parsing", choices=("typed", "strict"), default="typed", help="OSTEO_CDS_FHIR_PARSING (default typed)"
    )
    args = parser.parse_args(argv)
    from bench.progress import Progress
    from bench.run import REQUEST_KINDS, service_templates

    kinds = [k for k in REQUEST_KINDS if k.name in args.kinds.split(",")]
    with tempfile.TemporaryDirectory(prefix="osteo-stages-") as directory:
        work = Path(directory)
        tokens = TokenFactory(work)
        app = build_app(work, tokens, parsing=args.parsing)
        try:
            services = (
                app.test_client()
                .get("/cds-services", headers=tokens.header(PUBLIC_BASE + "/cds-services"))
                .get_json()["services"]
            )
            progress = Progress("bench.stages", len(kinds), "request kinds", quiet=args.quiet, every=0)
            measurements = []
            for kind in kinds:
                call = kind.make(service_templates(services, kind.path))
                problems = coverage_problems(app, tokens, call.body, kind.path)
                if problems:
                    print(
                        "bench.stages: the hook calls functions no stage times (add them to STAGES, or to GLUE if "
                        "they are cheap glue):\n  " + "\n  ".join(problems),
                        file=sys.stderr,
                    )
                    return 1
                measurements.append(measure(app, tokens, kind.name, call.body, call.resources, args.rounds, kind.path))
                progress.advance(1, kind.name)
        except StageMissing as missing:
            print(f"bench.stages: {missing}", file=sys.stderr)
            return 1
        finally:
            app.extensions["osteo_cds"].close()
    print(table(measurements))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
