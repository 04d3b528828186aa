#!/usr/bin/env bash
# Set up everything (scripts/setup.sh) and run the whole test suite: lint, then pytest
# against the real Docker engine and sandbox image. Extra arguments go to pytest.
#
#   bash scripts/test.sh                 # what CI runs
#   bash scripts/test.sh tests/test_config.py -x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${ZEROPLAY_VENV:-.venv}

bash scripts/setup.sh

# Test-only tools: Chromium, for the run report's browser test.
if ! command -v chromium >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "the tests need chromium: apt-get install chromium" >&2; exit 1; }
  echo "[test] installing chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null
    apt-get install -y -q chromium >/dev/null; }
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
"$VENV/bin/ruff" check .

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
