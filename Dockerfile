# Production image: slim Python, non-root user, gunicorn serving the app factory (via `osteo-cds serve`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OSTEO_CDS_DATA_DIR=/var/lib/osteo-cds

RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin osteo \
    && mkdir -p /var/lib/osteo-cds && chown osteo /var/lib/osteo-cds

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY fhir_mappings ./fhir_mappings
COPY decision_core ./decision_core
COPY cards ./cards
RUN pip install --no-cache-dir '.[postgres]' && rm -rf /app/build

USER osteo
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
CMD ["osteo-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
