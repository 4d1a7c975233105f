"""A small FHIR R4 read/search client on a pooled `requests` Session.

Every failure becomes a `Fetched` with `ok=False` and its `FetchFailure`: HTTP errors, timeouts, refused connections,
non-JSON bodies, paging loops. The bearer token goes only to URLs under the hook's `fhirServer`; it is never logged
and never part of a reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from cds_service.json_body import JsonRejected, parse_json
from fhir_mappings.fhir_json import BundlePage, read_bundle

log = logging.getLogger("osteo_cds.fhir")

RETRY_STATUSES = frozenset({502, 503, 504})
_CHUNK = 64 * 1024


class FetchFailure(StrEnum):
    """Why a fetch gave no usable data. The value is the bounded metrics label; `Fetched.reason` the wording."""

    NO_FHIR_SERVER = "no-fhir-server"
    BAD_URL = "bad-url"
    NO_TIME_LEFT = "no-time-left"
    DEADLINE = "deadline"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    REQUEST_FAILED = "request-failed"
    HTTP_STATUS = "http-status"
    BODY_UNREADABLE = "body-unreadable"
    TOO_LARGE = "too-large"
    NOT_JSON = "not-json"
    NOT_FHIR = "not-fhir"
    MALFORMED_BUNDLE = "malformed"
    OPERATION_OUTCOME = "operation-outcome"
    SEARCH_WITHOUT_BUNDLE = "search-without-bundle"
    ERROR_IN_BUNDLE = "error-in-bundle"
    NOT_THIS_PATIENT = "not-this-patient"


_FAILURE_TEXT = {
    FetchFailure.NO_FHIR_SERVER: "not in prefetch, no fhirServer",
    FetchFailure.BAD_URL: "fhirServer is not a usable URL",
    FetchFailure.NO_TIME_LEFT: "no time left before the hook deadline",
    FetchFailure.DEADLINE: "hook deadline reached",
    FetchFailure.TIMEOUT: "timed out",
    FetchFailure.CONNECTION: "connection failed",
    FetchFailure.REQUEST_FAILED: "request failed",
    FetchFailure.HTTP_STATUS: "HTTP",
    FetchFailure.BODY_UNREADABLE: "response body could not be read",
    FetchFailure.TOO_LARGE: "response too large",
    FetchFailure.NOT_JSON: "response is not JSON",
    FetchFailure.NOT_FHIR: "response is not a FHIR resource",
    FetchFailure.MALFORMED_BUNDLE: "malformed Bundle",
    FetchFailure.OPERATION_OUTCOME: "server answered with an OperationOutcome",
    FetchFailure.SEARCH_WITHOUT_BUNDLE: "search answered without a Bundle",
    FetchFailure.ERROR_IN_BUNDLE: "Bundle carries an error OperationOutcome",
    FetchFailure.NOT_THIS_PATIENT: "prefetched Patient is not the patient in context",
}


class Source(StrEnum):
    PREFETCH = "prefetch"
    FHIR = "fhir"
    NONE = "none"  # neither: not in prefetch and no fhirServer


@dataclass
class Fetched:
    """What one prefetch key or one FHIR read/search gave: usable data (`ok`, possibly `partial`), or a failure."""

    ok: bool
    resources: list[dict[str, Any]] = field(default_factory=list)
    failure: FetchFailure | None = None  # set when not ok
    partial: bool = False  # some pages could not be read (cap reached, loop, next page failed)
    note: str = ""  # why it is partial
    status: int | None = None  # the HTTP status, when there was an answer
    detail: str = ""  # e.g. the exception type of a failed request (never a URL or a token)
    source: Source = Source.FHIR

    @classmethod
    def failed(cls, failure: FetchFailure, *, status: int | None = None, detail: str = "") -> Fetched:
        return cls(False, failure=failure, status=status, detail=detail)

    @property
    def reason(self) -> str:
        """The failure or the reason it is partial, in words (logs and tests)."""
        if self.failure is None:
            return self.note
        if self.failure is FetchFailure.HTTP_STATUS:
            return f"HTTP {self.status}"
        if self.detail:
            return f"{_FAILURE_TEXT[self.failure]} ({self.detail})"
        return _FAILURE_TEXT[self.failure]


@dataclass(frozen=True)
class Deadline:
    """An absolute point in time (monotonic clock) by which the whole hook's fetching must end."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


class FhirClient:
    def __init__(
        self,
        *,
        timeout: float,
        max_pages: int,
        max_resources: int,
        max_bytes: int = 10 * 1024 * 1024,
        pool_size: int = 32,
    ) -> None:
        self.timeout = timeout
        self.max_pages = max_pages
        self.max_resources = max_resources
        self.max_bytes = max_bytes  # largest response body (one page, decoded) read into memory
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/fhir+json", "User-Agent": "osteo-cds"})
        self.session.trust_env = False  # no proxy or .netrc credentials picked up from the environment

    def close(self) -> None:
        self.session.close()

    def get(self, base: str, relative: str, token: str | None, deadline: Deadline) -> Fetched:
        """Read a resource or run a search (following `next` links); Bundles are unwrapped to resources."""
        base = base.rstrip("/") + "/"
        url = join_url(base, relative.lstrip("/"))
        if url is None:
            return Fetched.failed(FetchFailure.BAD_URL)
        first, page = self._get_json(url, base, token, deadline)
        if not first.ok:
            return first
        if page is None:
            body = first.resources[0]
            if body["resourceType"] == "OperationOutcome":
                return Fetched.failed(FetchFailure.OPERATION_OUTCOME, status=first.status)
            if "?" in relative:  # a search must answer with a Bundle; anything else is not the search result
                return Fetched.failed(FetchFailure.SEARCH_WITHOUT_BUNDLE, status=first.status)
            return Fetched(True, [body], status=first.status)
        return self.collect_bundle(page, base, token, deadline)

    def collect_bundle(self, first: BundlePage, base: str | None, token: str | None, deadline: Deadline) -> Fetched:
        """Resources of a searchset Bundle (`first`, as `read_bundle` read it) and of its `next` pages (when `base`
        allows following them). The patient data of a page leaves out the server's notes about the search (outcome
        entries); an error OperationOutcome on any page says the search failed (warnings are ignored)."""
        resources: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = first
        pages = 0
        while True:
            pages += 1
            if page.failed:
                return Fetched.failed(FetchFailure.ERROR_IN_BUNDLE)
            resources.extend(page.resources)
            if len(resources) >= self.max_resources:
                return Fetched(True, resources[: self.max_resources], partial=True, note="resource cap reached")
            next_url = page.next
            if next_url is None:
                return Fetched(True, resources)
            if base is None:
                return Fetched(True, resources, partial=True, note="more pages, no FHIR server to follow them")
            next_url = join_url(base, next_url)
            if next_url is None:
                return Fetched(True, resources, partial=True, note="next link is not a usable URL")
            if not _under(next_url, base):
                return Fetched(True, resources, partial=True, note="next link points outside the FHIR server")
            if next_url in seen:
                return Fetched(True, resources, partial=True, note="paging loop detected")
            if pages >= self.max_pages:
                return Fetched(True, resources, partial=True, note="page cap reached")
            seen.add(next_url)
            fetched, next_page = self._get_json(next_url, base, token, deadline)
            if not fetched.ok:
                return Fetched(True, resources, partial=True, note=f"next page: {fetched.reason}")
            if next_page is None:
                return Fetched(True, resources, partial=True, note="next page is not a Bundle")
            page = next_page

    def _get_json(
        self, url: str, base: str, token: str | None, deadline: Deadline
    ) -> tuple[Fetched, BundlePage | None]:
        """The answer (its body as the one resource), and its entries when it is a Bundle (read once, here)."""
        headers = {}
        if token is not None and _under(url, base):
            headers["Authorization"] = f"Bearer {token}"
        attempts = 2  # one bounded retry for connection errors and 502/503/504
        answer: tuple[Fetched, BundlePage | None] = (Fetched.failed(FetchFailure.NO_TIME_LEFT), None)
        for attempt in range(attempts):
            remaining = deadline.remaining()
            if remaining <= 0.05:
                return answer if attempt else (Fetched.failed(FetchFailure.NO_TIME_LEFT), None)
            answer = self._attempt(url, headers, min(self.timeout, remaining), deadline)
            result = answer[0]
            retryable = result.status in RETRY_STATUSES or result.failure is FetchFailure.CONNECTION
            if result.ok or not retryable:
                return answer
        return answer

    def _attempt(
        self, url: str, headers: dict[str, str], timeout: float, deadline: Deadline
    ) -> tuple[Fetched, BundlePage | None]:
        fetched = self._read(url, headers, timeout, deadline)
        if not fetched.ok or fetched.resources[0]["resourceType"] != "Bundle":
            return fetched, None
        page = read_bundle(fetched.resources[0])
        if page is None:  # unreadable, not empty: taking it as "no records" would give advice as if the chart were read
            return Fetched.failed(FetchFailure.MALFORMED_BUNDLE, status=200), None
        return fetched, page

    def _read(self, url: str, headers: dict[str, str], timeout: float, deadline: Deadline) -> Fetched:
        try:
            response = self.session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        except requests.Timeout:
            return Fetched.failed(FetchFailure.TIMEOUT)
        except requests.ConnectionError:
            return Fetched.failed(FetchFailure.CONNECTION)
        except requests.RequestException as exc:
            return Fetched.failed(FetchFailure.REQUEST_FAILED, detail=type(exc).__name__)
        with response:
            if response.status_code != 200:
                return Fetched.failed(FetchFailure.HTTP_STATUS, status=response.status_code)
            # read1 returns after each network read (iter_content would wait for a whole 64 KiB chunk), so a server
            # that trickles bytes cannot hold this thread past the deadline; a body over max_bytes is refused.
            chunks: list[bytes] = []
            received = 0
            try:
                while chunk := response.raw.read1(_CHUNK, decode_content=True):
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > self.max_bytes:
                        return Fetched.failed(FetchFailure.TOO_LARGE, status=200)
                    if deadline.remaining() <= 0:
                        return Fetched.failed(FetchFailure.TIMEOUT)
            except urllib3.exceptions.ReadTimeoutError:
                return Fetched.failed(FetchFailure.TIMEOUT)
            except (urllib3.exceptions.HTTPError, OSError):
                return Fetched.failed(FetchFailure.BODY_UNREADABLE)
        try:
            body = parse_json(b"".join(chunks))
        except JsonRejected:  # not JSON, or JSON that FHIR forbids (repeated names, nesting deeper than any resource)
            return Fetched.failed(FetchFailure.NOT_JSON, status=200)
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            return Fetched.failed(FetchFailure.NOT_FHIR, status=200)
        return Fetched(True, [body], status=200)


def join_url(base: str, url: str) -> str | None:
    """`url` resolved against `base`, or None when either is not a URL that can be parsed (e.g. "https://[x")."""
    try:
        joined = urljoin(base, url)
        urlsplit(joined).port  # noqa: B018 -- parsing the port is where a malformed authority shows
    except ValueError:
        return None
    return joined


def _under(url: str, base: str) -> bool:
    """True when `url` is on the same origin as `base` and below its path (where the token may go)."""
    try:
        target, root = urlsplit(url), urlsplit(base)
    except ValueError:  # not a URL at all: certainly not where the token may go
        return False
    prefix = root.path.rstrip("/") + "/"
    # "/fhir/../other" starts with "/fhir/" but is sent (dot segments removed) to "/other": not under the server.
    below = unquote(target.path[len(prefix) :]).replace("\\", "/").split("/")
    return (
        target.scheme.lower() == root.scheme.lower()
        and target.netloc.lower() == root.netloc.lower()
        and target.path.startswith(prefix)
        and "." not in below
        and ".." not in below
    )
