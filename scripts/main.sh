#!/usr/bin/env bash
# The main job on the embedded default (Fashion-MNIST and the checked-in zoo):
# prints the evaluation report of every task. Extra arguments go to 'python -m analysis evaluate'.
source "$(dirname "$0")/bootstrap.sh"
if [ "${FMNIST_MISSING:-0}" = 1 ]; then exit 1; fi
exec .venv/bin/python -m analysis evaluate "$@"
