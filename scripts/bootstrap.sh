# Sourced by scripts/main.sh and scripts/test.sh: makes .venv, installs requirements.txt
# (scripts/test.sh adds requirements-test.txt) and checks the embedded default dataset.
# Safe to run again: each step is skipped when done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "RA Explorer needs Python 3.11 or newer as '$PYTHON'; install it or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
install_requirements() {  # install_requirements FILE STAMP: pip install -r FILE once per content
  local want
  want="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$(cat "$2" 2>/dev/null || true)" != "$want" ]; then
    echo "bootstrap: installing $1 into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$1"
    echo "$want" > "$2"
  fi
}
install_requirements requirements.txt .venv/.requirements.sha256

APT_UPDATED=0
apt_install() {  # apt_install PACKAGE...: as root, install Debian packages (one apt-get update)
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  echo "bootstrap: installing the Debian package(s) $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

FMNIST=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ ! -e "$FMNIST" ] && [ -z "${RA_FASHION_MNIST:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt_install dataset-fashion-mnist
  else
    echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist' (or set RA_FASHION_MNIST to a folder with its IDX files)." >&2
    FMNIST_MISSING=1
  fi
fi
export PATH="$ROOT/.venv/bin:$PATH"
