#!/usr/bin/env bash
# The test suite, from a fresh machine: bootstrap, the test-only packages (requirements-test.txt,
# the package's "test" extra), the browser the end-to-end tests drive
# (Debian's chromium; Playwright's own browser download does not work here), then pytest with
# one worker per core (pytest-xdist; $RA_TEST_WORKERS sets the count, 0 runs in this process),
# each test file on one worker so that its module fixtures are built once.
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
exec .venv/bin/python -m pytest -n "${RA_TEST_WORKERS:-auto}" --dist loadfile "$@"
