#!/usr/bin/env bash
# Deploy what this checkout built: a thin wrapper over `python -m tap.deploy`
# (see `./deploy.sh --help`). Uses the active virtual environment, else ./.venv,
# else python3; the AWS CLI is not needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${VIRTUAL_ENV:-}" ]; then
  python="$VIRTUAL_ENV/bin/python"
elif [ -x "$here/.venv/bin/python" ]; then
  python="$here/.venv/bin/python"
else
  python=python3
fi
PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m tap.deploy "$@"
