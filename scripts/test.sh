#!/usr/bin/env bash
# The test suite, from a fresh machine: bootstrap, then pytest (arguments go to pytest).
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/python -m pytest "$@"
