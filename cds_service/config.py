"""Settings from the environment (prefix OSTEO_CDS_). One frozen object, built once per app.

Every setting is listed in SETTINGS with its default and meaning; the README's configuration table is
generated from that list (`osteo-cds config --markdown`), so code and documentation cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cds_service.site_rules import SiteRuleError, SiteRules, parse_site_rules
from fhir_mappings.typed_decoding import FhirParsing

PREFIX = "OSTEO_CDS_"


class ConfigError(ValueError):
    """A setting has a value the service cannot run with. The message names the variable."""


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: str
    meaning: str
    # The value examples/osteo-cds.env.example sets (a production-like deployment); None leaves it commented out.
    example: str | None = None
    # Printed masked by `osteo-cds config` (URLs always have their password and credential parameters masked).
    secret: bool = False


SETTINGS: tuple[SettingDoc, ...] = (
    SettingDoc(
        "AUTH_MODE",
        "required",
        "`required`: every call except health checks and CORS preflight needs a "
        "CDS client JWT. `development`: unauthenticated calls accepted (loud warning at start and in /readyz).",
        example="required",
    ),
    SettingDoc("DATA_DIR", "`./data`", "Local data directory; holds the SQLite feedback database by default."),
    SettingDoc(
        "DATABASE_URL",
        "`sqlite:///DATA_DIR/feedback.db`",
        "SQLAlchemy URL of the feedback store, e.g. `postgresql+psycopg://user:pw@host/db`.",
        example="postgresql+psycopg://osteo:CHANGE-ME@postgres.example.internal:5432/osteo?sslmode=verify-full",
    ),
    SettingDoc("MAX_BODY_BYTES", "5242880", "Largest accepted request body (413 above it)."),
    SettingDoc(
        "CORS_ORIGINS",
        "`*` in development, none in required mode",
        "Comma-separated origins allowed to call from a browser (e.g. `https://sandbox.cds-hooks.org`), or `*`.",
        example="https://ehr.example.org",
    ),
    SettingDoc(
        "NOW",
        "(unset)",
        "Pin the evaluation time (ISO 8601) for tests and case review. Ignored, with a "
        "warning, when AUTH_MODE is `required`.",
    ),
    SettingDoc(
        "ALLOW_HTTP_FHIR",
        "`true` in development, `false` in required mode",
        "Accept `http://` fhirServer URLs (development and tests only); otherwise such a request gets 400.",
    ),
    SettingDoc("FHIR_TIMEOUT", "1.5", "Seconds allowed for one FHIR request (connect and read)."),
    SettingDoc(
        "HOOK_DEADLINE", "3.0", "Seconds allowed for all FHIR fetching of one hook call; then 412 or degraded cards."
    ),
    SettingDoc("FHIR_MAX_PAGES", "20", "Most `next` pages followed for one search."),
    SettingDoc("FHIR_MAX_RESOURCES", "10000", "Most resources read for one search."),
    SettingDoc(
        "FHIR_MAX_BYTES",
        "10485760",
        "Largest FHIR response body (one page) read; a larger one is refused and its data counted as not retrieved.",
    ),
    SettingDoc(
        "PUBLIC_BASE_URL",
        "(unset)",
        "The public URL clients call, exactly as they call it, e.g. `https://cds.example.org`; the "
        "expected JWT `aud` is computed from it. Required in `required` mode.",
        example="https://cds.example.org",
    ),
    SettingDoc(
        "TRUSTED_CLIENTS",
        "(unset)",
        "Path of the YAML file listing trusted CDS clients (issuer, JWKS, algorithms, tenants). Required in "
        "`required` mode.",
        example="/etc/osteo-cds/trusted-clients.yaml",
    ),
    SettingDoc("JWT_LEEWAY", "60", "Clock skew allowed for JWT `exp`/`iat`/`nbf`, in seconds."),
    SettingDoc(
        "REDIS_URL",
        "(unset)",
        "Redis URL for the JWT replay cache shared by all replicas, e.g. `rediss://:pw@host:6380/0`; when unset, "
        "the replay records go to the feedback database (`DATABASE_URL`), also shared by every worker and replica.",
        example="rediss://:CHANGE-ME@redis.example.internal:6380/0",
    ),
    SettingDoc(
        "EXTRA_CODES",
        "(unset)",
        "Path of a YAML file adding local codes to terminology concepts; validated at start-up.",
    ),
    SettingDoc("SMART_APP_URL", "(unset)", "Optional SMART app launch URL offered as a link on cards."),
    SettingDoc("SMART_APP_CONTEXT", "(unset)", "Optional `appContext` string for the SMART app link."),
    SettingDoc(
        "METRICS_TOKEN",
        "(unset)",
        "If set, `GET /metrics` requires `Authorization: Bearer <this value>` "
        "(it never needs a CDS client JWT). Unset: /metrics is open, so expose it only on an internal "
        "network.",
        example="CHANGE-ME",
        secret=True,
    ),
    SettingDoc(
        "RULES_OFF",
        "(unset)",
        "Comma-separated rule ids this site does not send (e.g. `UNIV-01` where bone health is taught elsewhere); "
        "checked at start-up (unknown id: exit 2) and listed on the catalog page as configured here. "
        "SAFE-01/02/03 also need `ALLOW_SAFETY_RULE_CHANGES`.",
    ),
    SettingDoc(
        "RULE_INDICATORS",
        "(unset)",
        "Comma-separated `RULE-ID:indicator` caps (e.g. `DATA-02:info,TX-03:info`): the rule's cards are sent at "
        "most at that indicator. Lowering only (raising, an unknown id or bad syntax: exit 2); listed on the "
        "catalog page. SAFE-01/02/03 also need `ALLOW_SAFETY_RULE_CHANGES`.",
    ),
    SettingDoc(
        "ALLOW_SAFETY_RULE_CHANGES",
        "false",
        "`true` lets `RULES_OFF` / `RULE_INDICATORS` name the drug-safety rules SAFE-01, SAFE-02 and SAFE-03 "
        "(a second, explicit decision of the CDS committee); without it naming them is a start-up error.",
    ),
    SettingDoc(
        "FHIR_PARSING",
        "typed",
        "How the FHIR resources the rules read are parsed. `typed`: typed decoding (msgspec) of the elements the "
        "rules read, and the R4B models (`fhir.resources`) for any resource it is not sure of; the same facts, "
        "faster. `strict`: every such resource validated with the R4B models.",
    ),
    SettingDoc("LOG_LEVEL", "INFO", "Python log level of the JSON logs."),
    SettingDoc(
        "PORT",
        "8080",
        "TCP port `osteo-cds serve` listens on (`--port` overrides it) and `osteo-cds healthcheck` asks.",
    ),
    SettingDoc(
        "WORKERS",
        "ceil(2 × CPUs + 1), at most 8",
        "gunicorn worker processes for `osteo-cds serve`. CPUs = the container's cgroup CPU quota or the CPU "
        "affinity mask, whichever is smaller (not the host's core count); `osteo-cds config` shows the figure.",
    ),
    SettingDoc("THREADS", "2", "Threads per gunicorn worker (gthread)."),
)


@dataclass(frozen=True)
class Settings:
    auth_mode: str = "required"
    data_dir: Path = Path("data")
    database_url: str = ""
    max_body_bytes: int = 5 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    now: datetime | None = None
    allow_http_fhir: bool = False
    fhir_timeout: float = 1.5
    hook_deadline: float = 3.0
    fhir_max_pages: int = 20
    fhir_max_resources: int = 10_000
    fhir_max_bytes: int = 10 * 1024 * 1024
    public_base_url: str | None = None
    trusted_clients: Path | None = None
    jwt_leeway: int = 60
    redis_url: str | None = None
    extra_codes: Path | None = None
    smart_app_url: str | None = None
    smart_app_context: str | None = None
    metrics_token: str | None = None
    fhir_parsing: FhirParsing = FhirParsing.TYPED
    log_level: str = "INFO"
    port: int = 8080
    workers: int = 0
    threads: int = 2
    site_rules: SiteRules = field(default_factory=SiteRules)
    allow_safety_rule_changes: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def rules_off(self) -> tuple[str, ...]:
        return tuple(sorted(self.site_rules.off))

    @property
    def rule_indicators(self) -> tuple[str, ...]:
        return tuple(f"{rule}:{cap.value}" for rule, cap in sorted(self.site_rules.indicators.items()))

    @property
    def development(self) -> bool:
        return self.auth_mode == "development"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name)
            return value.strip() if value is not None and value.strip() != "" else None

        warnings: list[str] = []
        auth_mode = (get("AUTH_MODE") or "required").lower()
        if auth_mode not in ("required", "development"):
            raise ConfigError(f"{PREFIX}AUTH_MODE must be 'required' or 'development', not {auth_mode!r}")
        development = auth_mode == "development"

        data_dir = Path(get("DATA_DIR") or "data")
        database_url = get("DATABASE_URL") or f"sqlite:///{(data_dir / 'feedback.db').as_posix()}"

        cors_raw = get("CORS_ORIGINS")
        if cors_raw is None:
            cors_origins: tuple[str, ...] = ("*",) if development else ()
        else:
            cors_origins = tuple(o.strip().rstrip("/") for o in cors_raw.split(",") if o.strip())

        now = None
        now_raw = get("NOW")
        if now_raw is not None:
            if development:
                now = parse_datetime(now_raw, PREFIX + "NOW")
            else:
                warnings.append(f"{PREFIX}NOW is ignored because {PREFIX}AUTH_MODE is 'required' (production)")

        public_base_url = get("PUBLIC_BASE_URL")
        if public_base_url is not None:
            public_base_url = public_base_url.rstrip("/")
            if not public_base_url.startswith(("https://", "http://")):
                raise ConfigError(f"{PREFIX}PUBLIC_BASE_URL must be an absolute http(s) URL")

        parsing_raw = (get("FHIR_PARSING") or FhirParsing.TYPED.value).lower()
        try:
            fhir_parsing = FhirParsing(parsing_raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}FHIR_PARSING must be 'typed' or 'strict', not {parsing_raw!r}") from None

        from decision_core.specs import RULE_SPECS

        allow_safety = _bool(get("ALLOW_SAFETY_RULE_CHANGES"), "ALLOW_SAFETY_RULE_CHANGES")
        try:
            site_rules = parse_site_rules(get("RULES_OFF"), get("RULE_INDICATORS"), allow_safety, RULE_SPECS)
        except SiteRuleError as exc:
            raise ConfigError(str(exc)) from None

        return cls(
            auth_mode=auth_mode,
            data_dir=data_dir,
            database_url=database_url,
            max_body_bytes=_int(get("MAX_BODY_BYTES"), "MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024),
            cors_origins=cors_origins,
            now=now,
            allow_http_fhir=_bool(get("ALLOW_HTTP_FHIR"), "ALLOW_HTTP_FHIR", default=development),
            fhir_timeout=_float(get("FHIR_TIMEOUT"), "FHIR_TIMEOUT", 1.5),
            hook_deadline=_float(get("HOOK_DEADLINE"), "HOOK_DEADLINE", 3.0),
            fhir_max_pages=_int(get("FHIR_MAX_PAGES"), "FHIR_MAX_PAGES", 20, minimum=1),
            fhir_max_resources=_int(get("FHIR_MAX_RESOURCES"), "FHIR_MAX_RESOURCES", 10_000, minimum=1),
            fhir_max_bytes=_int(get("FHIR_MAX_BYTES"), "FHIR_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
            public_base_url=public_base_url,
            trusted_clients=_path(get("TRUSTED_CLIENTS")),
            jwt_leeway=_int(get("JWT_LEEWAY"), "JWT_LEEWAY", 60, minimum=0),
            redis_url=get("REDIS_URL"),
            extra_codes=_path(get("EXTRA_CODES")),
            smart_app_url=get("SMART_APP_URL"),
            smart_app_context=get("SMART_APP_CONTEXT"),
            metrics_token=get("METRICS_TOKEN"),
            fhir_parsing=fhir_parsing,
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            port=_int(get("PORT"), "PORT", 8080, minimum=1, maximum=65535),
            workers=_int(get("WORKERS"), "WORKERS", 0, minimum=0),
            threads=_int(get("THREADS"), "THREADS", 2, minimum=1),
            site_rules=site_rules,
            allow_safety_rule_changes=allow_safety,
            warnings=tuple(warnings),
        )


def required_mode_problems(settings: Settings) -> list[str]:
    """Every setting `required` mode cannot start without, all at once (not one per attempt)."""
    if settings.development:
        return []
    problems = []
    if settings.public_base_url is None:
        problems.append(
            f"{PREFIX}PUBLIC_BASE_URL is not set: the URL the EHR calls, exactly as it calls it "
            "(e.g. https://cds.example.org); the expected JWT aud is computed from it"
        )
    if settings.trusted_clients is None:
        problems.append(
            f"{PREFIX}TRUSTED_CLIENTS is not set: the path of the YAML file listing the trusted CDS clients "
            "(see examples/trusted-clients.example.yaml)"
        )
    elif not settings.trusted_clients.is_file():
        problems.append(f"{PREFIX}TRUSTED_CLIENTS names {settings.trusted_clients}, which is not a file")
    return problems


def check_required_mode(settings: Settings) -> None:
    problems = required_mode_problems(settings)
    if problems:
        raise ConfigError(
            f"{PREFIX}AUTH_MODE is 'required' (the default), and it cannot start like this:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
            + f"For a local trial without client authentication, set {PREFIX}AUTH_MODE=development "
            "(never where others can reach it)."
        )


def parse_datetime(value: str, what: str) -> datetime:
    """An ISO 8601 date or date-time; a bare date means midnight UTC, a naive time is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"{what} is not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(raw: str | None, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be an integer, not {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{PREFIX}{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{PREFIX}{name} must be at most {maximum}")
    return value


def _float(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be a number of seconds, not {raw!r}") from exc
    if not 0 < value <= 60:
        raise ConfigError(f"{PREFIX}{name} must be between 0 and 60 seconds")
    return value


def _bool(raw: str | None, name: str, *, default: bool = False) -> bool:
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, not {raw!r}")


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw is not None else None
