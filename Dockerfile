# Production image: slim Python, non-root user, gunicorn serving the app factory (via `osteo-cds serve`).
# Packages come from the hash-pinned lock file (requirements/runtime.txt, refreshed with scripts/lock.sh), so a build
# today and a build next year install the same versions. tests/unit/test_container_image.py performs these install
# steps in a fresh venv and runs the HEALTHCHECK against the CMD; scripts/test.sh runs hadolint on this file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OSTEO_CDS_DATA_DIR=/var/lib/osteo-cds \
    OSTEO_CDS_PORT=8080

RUN groupadd --system --gid 10001 osteo \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin osteo \
    && mkdir -p /var/lib/osteo-cds && chown 10001:10001 /var/lib/osteo-cds

WORKDIR /app
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md LICENSE ./
COPY cds_service ./cds_service
COPY fhir_mappings ./fhir_mappings
COPY decision_core ./decision_core
COPY cards ./cards
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && rm -rf /app/build

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The SQLite feedback database when OSTEO_CDS_DATABASE_URL is unset: mount a volume, or it dies with the container.
VOLUME ["/var/lib/osteo-cds"]
EXPOSE 8080
# `osteo-cds healthcheck` asks GET /healthz on 127.0.0.1 at OSTEO_CDS_PORT, the port `serve` listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["osteo-cds", "healthcheck"]
CMD ["osteo-cds", "serve", "--host", "0.0.0.0"]
