#!/usr/bin/env bash
# The test suite, from a fresh machine: bootstrap, the test-only packages (requirements-test.txt,
# the package's "test" extra), the browser the end-to-end tests drive
# (Debian's chromium; Playwright's own browser download does not work here), then pytest with
# one worker per core (pytest-xdist; $RA_TEST_WORKERS sets the count, 0 runs in this process),
# tests handed out one by one and an idle worker taking queued ones from the other (worksteal:
# 1,034 s against 1,181 s with a test file per worker, the same suite on this 2-core machine).
# Arguments go to pytest.
source "$(dirname "$0")/bootstrap.sh"
install_requirements requirements-test.txt .venv/.requirements-test.sha256
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt_install chromium
  else
    echo "chromium is missing: run 'sudo apt-get install chromium' for the browser tests (they are skipped until then)." >&2
  fi
fi
exec .venv/bin/python -m pytest -n "${RA_TEST_WORKERS:-auto}" --dist worksteal "$@"
