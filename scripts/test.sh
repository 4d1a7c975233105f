#!/usr/bin/env bash
# Install everything the test suite needs and run all of it: lint, then pytest.
# Usage: bash scripts/test.sh [pytest args...]
# Python packages come from the hash-pinned lock file requirements/test.txt (refresh it with scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${VENV:-.venv}"
started=$SECONDS
step() { echo "==> [$((SECONDS - started))s] $*"; }

# Real servers the integration tests start on 127.0.0.1: headless Chromium, Redis, nginx, PostgreSQL (Debian
# packages). Installed when missing and this shell may install them; otherwise install them yourself.
step "apt: checking the Debian packages the integration tests start (chromium, redis-server, nginx, postgresql)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    step "apt: installing ${missing[*]} (a few minutes on a new machine)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  step "venv: creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
step "pip: installing requirements/test.txt into $VENV (pinned, hashes checked)"
"$VENV/bin/python" -m pip install -q --require-hashes -r requirements/test.txt
step "pip: installing osteo-cds itself (editable, no dependencies: they all come from the lock)"
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
# The image's packages as wheel files: tests/unit/test_container_image.py performs the Dockerfile's install steps
# from them in a fresh venv, offline.
step "pip: fetching the image's wheels (requirements/runtime.txt) into $VENV/wheelhouse"
"$VENV/bin/python" -m pip download -q --require-hashes --no-deps -r requirements/runtime.txt -d "$VENV/wheelhouse"
step "helm: for the chart checks (scripts/install_helm.py)"
"$VENV/bin/python" scripts/install_helm.py "$VENV"

step "lint: ruff check"
"$VENV/bin/ruff" check .
step "lint: ruff format --check"
"$VENV/bin/ruff" format --check .
step "types: mypy (strict on decision_core and cards; settings in pyproject.toml)"
"$VENV/bin/mypy"
step "lint: hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile
step "lint: helm lint --strict deploy/helm/osteo-cds"
"$VENV/bin/helm" lint --strict --quiet deploy/helm/osteo-cds

step "tests: pytest $*"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
step "done (pytest exit status $status)"
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
