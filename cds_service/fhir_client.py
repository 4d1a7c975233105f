"""A small FHIR R4 read/search client on a pooled `requests` Session.

Every failure becomes a `Fetched` with `ok=False` and a short reason: HTTP errors, timeouts, refused connections,
non-JSON bodies, paging loops. The bearer token goes only to URLs under the hook's `fhirServer`; it is never logged
and never part of a reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from cds_service.json_body import JsonRejected, parse_json
from fhir_mappings.fhir_json import bundle_readable, entry_resources, failed_search_outcome, next_link

log = logging.getLogger("osteo_cds.fhir")

RETRY_STATUSES = frozenset({502, 503, 504})
_CHUNK = 64 * 1024


@dataclass
class Fetched:
    ok: bool
    resources: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    partial: bool = False  # some pages could not be read (cap reached, loop, next page failed)
    status: int | None = None


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
            return Fetched(False, reason="fhirServer is not a usable URL")
        first = self._get_json(url, base, token, deadline)
        if not first.ok:
            return first
        body = first.resources[0]
        if body["resourceType"] != "Bundle":
            if body["resourceType"] == "OperationOutcome":
                return Fetched(False, reason="server answered with an OperationOutcome", status=first.status)
            if "?" in relative:  # a search must answer with a Bundle; anything else is not the search result
                return Fetched(False, reason="search answered without a Bundle", status=first.status)
            return Fetched(True, [body], status=first.status)
        return self.collect_bundle(body, base, token, deadline)

    def collect_bundle(
        self, bundle: dict[str, Any], base: str | None, token: str | None, deadline: Deadline
    ) -> Fetched:
        """Resources of a searchset Bundle and of its `next` pages (when `base` allows following them)."""
        resources: list[dict[str, Any]] = []
        seen: set[str] = set()
        page: dict[str, Any] | None = bundle
        pages = 0
        while page is not None:
            pages += 1
            problem = _bundle_error(page)
            if problem:
                return Fetched(False, reason=problem)
            resources.extend(_entries(page))
            if len(resources) >= self.max_resources:
                return Fetched(True, resources[: self.max_resources], partial=True, reason="resource cap reached")
            next_url = next_link(page)
            if next_url is None:
                return Fetched(True, resources)
            if base is None:
                return Fetched(True, resources, partial=True, reason="more pages, no FHIR server to follow them")
            next_url = join_url(base, next_url)
            if next_url is None:
                return Fetched(True, resources, partial=True, reason="next link is not a usable URL")
            if not _under(next_url, base):
                return Fetched(True, resources, partial=True, reason="next link points outside the FHIR server")
            if next_url in seen:
                return Fetched(True, resources, partial=True, reason="paging loop detected")
            if pages >= self.max_pages:
                return Fetched(True, resources, partial=True, reason="page cap reached")
            seen.add(next_url)
            fetched = self._get_json(next_url, base, token, deadline)
            if not fetched.ok:
                return Fetched(True, resources, partial=True, reason=f"next page: {fetched.reason}")
            page = fetched.resources[0]
            if page.get("resourceType") != "Bundle":
                return Fetched(True, resources, partial=True, reason="next page is not a Bundle")
        return Fetched(True, resources)

    def _get_json(self, url: str, base: str, token: str | None, deadline: Deadline) -> Fetched:
        headers = {}
        if token is not None and _under(url, base):
            headers["Authorization"] = f"Bearer {token}"
        attempts = 2  # one bounded retry for connection errors and 502/503/504
        result = Fetched(False, reason="no time left before the hook deadline")
        for attempt in range(attempts):
            remaining = deadline.remaining()
            if remaining <= 0.05:
                return result if attempt else Fetched(False, reason="no time left before the hook deadline")
            result = self._attempt(url, headers, min(self.timeout, remaining), deadline)
            retryable = result.status in RETRY_STATUSES or result.reason == "connection failed"
            if result.ok or not retryable:
                return result
        return result

    def _attempt(self, url: str, headers: dict[str, str], timeout: float, deadline: Deadline) -> Fetched:
        try:
            response = self.session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        except requests.Timeout:
            return Fetched(False, reason="timed out")
        except requests.ConnectionError:
            return Fetched(False, reason="connection failed")
        except requests.RequestException as exc:
            return Fetched(False, reason=f"request failed ({type(exc).__name__})")
        with response:
            if response.status_code != 200:
                return Fetched(False, reason=f"HTTP {response.status_code}", status=response.status_code)
            # read1 returns after each network read (iter_content would wait for a whole 64 KiB chunk), so a server
            # that trickles bytes cannot hold this thread past the deadline; a body over max_bytes is refused.
            chunks: list[bytes] = []
            received = 0
            try:
                while chunk := response.raw.read1(_CHUNK, decode_content=True):
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > self.max_bytes:
                        return Fetched(False, reason="response too large", status=200)
                    if deadline.remaining() <= 0:
                        return Fetched(False, reason="timed out")
            except urllib3.exceptions.ReadTimeoutError:
                return Fetched(False, reason="timed out")
            except (urllib3.exceptions.HTTPError, OSError):
                return Fetched(False, reason="response body could not be read")
        try:
            body = parse_json(b"".join(chunks))
        except JsonRejected:  # not JSON, or JSON that FHIR forbids (repeated names, nesting deeper than any resource)
            return Fetched(False, reason="response is not JSON", status=200)
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            return Fetched(False, reason="response is not a FHIR resource", status=200)
        if body["resourceType"] == "Bundle" and not bundle_readable(body):
            # Unreadable, not empty: taking it as "no records" would give advice as if the chart had been read.
            return Fetched(False, reason="malformed Bundle", status=200)
        return Fetched(True, [body], status=200)


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The patient data of a searchset page: not the server's notes about the search (outcome entries)."""
    return [
        resource
        for resource, mode in entry_resources(bundle)
        if mode != "outcome" and resource.get("resourceType") != "OperationOutcome"
    ]


def _bundle_error(bundle: dict[str, Any]) -> str | None:
    """An error OperationOutcome inside a Bundle means the search failed (warnings are ignored)."""
    if any(failed_search_outcome(resource) for resource, _ in entry_resources(bundle)):
        return "Bundle carries an error OperationOutcome"
    return None


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
