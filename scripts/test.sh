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
