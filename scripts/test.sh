#!/usr/bin/env bash
# Set up everything (scripts/setup.sh) and run the whole test suite: lint, then pytest
# against the real Docker engine and sandbox image, printing the 25 slowest tests. Extra
# arguments go to pytest.
#
#   bash scripts/test.sh                 # what CI runs
#   bash scripts/test.sh tests/test_config.py -x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${ZEROPLAY_VENV:-.venv}

bash scripts/setup.sh

# Test-only tools from Debian: Chromium (the run report's browser test) and Prometheus
# (the dashboard's queries, evaluated for real).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v prometheus >/dev/null || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "the tests need: apt-get install ${missing[*]}" >&2; exit 1; }
  echo "[test] installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
"$VENV/bin/ruff" check .

set +e
"$VENV/bin/python" -m pytest --durations=25 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
