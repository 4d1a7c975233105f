#!/usr/bin/env bash
# Regenerate the hash-pinned lock files in requirements/ from pyproject.toml (pip-compile, from pip-tools in the
# test extras; needs the package index). Commit the result with the change that needed it.
#   bash scripts/lock.sh                      keep every pin the ranges in pyproject.toml still allow
#   bash scripts/lock.sh --upgrade            move every pin to the newest allowed version
#   bash scripts/lock.sh --upgrade-package X  move only X (and what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_TOOLS_COMPILE="${PIP_TOOLS_COMPILE:-.venv/bin/pip-compile}"
export CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh"
# Hashes for every file of each pinned release; setuptools, wheel and pip pinned too (the project is installed with
# --no-build-isolation, so its build back-end comes from the lock as well); no machine-local index or find-links.
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps --no-emit-index-url
  --no-emit-find-links --resolver=backtracking)

echo "==> requirements/runtime.txt: the image's packages (runtime + postgres)"
"$PIP_TOOLS_COMPILE" "${common[@]}" --extra postgres -o requirements/runtime.txt "$@" pyproject.toml
echo "==> requirements/test.txt: runtime + postgres + test tools, same versions as runtime.txt"
"$PIP_TOOLS_COMPILE" "${common[@]}" --extra postgres --extra test -c requirements/runtime.txt \
  -o requirements/test.txt "$@" pyproject.toml
