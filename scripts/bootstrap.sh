#!/usr/bin/env bash
# Set up the project's virtual environment (pinned versions) and then
#   pipeline: generate the synthetic default (if data/raw/ has no extracts) and run the whole pipeline
#   test:     run the test suite (this is what CI runs)
# Usage: bash scripts/bootstrap.sh pipeline|test [extra arguments for quarterstats run / pytest]
set -euo pipefail
cd "$(dirname "$0")/.."

task="${1:-}"
shift || true
case "$task" in
  pipeline|test) ;;
  *) echo "usage: bash scripts/bootstrap.sh pipeline|test" >&2; exit 2 ;;
esac

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "quarterstats needs Python 3.11 or newer (found: $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi

# (Re)install when the pinned requirements or the package metadata changed.
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Setting up .venv (pinned versions from constraints.txt) ..."
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
export MPLBACKEND=Agg

if [ "$task" = "pipeline" ]; then
  if ! ls data/raw/register/*.parquet data/raw/register/*.csv >/dev/null 2>&1; then
    .venv/bin/quarterstats generate
  else
    echo "Using the extracts already in data/raw/register (run '.venv/bin/quarterstats generate' to rewrite the synthetic default)."
  fi
  exec .venv/bin/quarterstats run "$@"
else
  exec .venv/bin/python -m pytest "$@"
fi
