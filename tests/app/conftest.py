"""Fixtures of the app tests: one headless Chromium per module; the app on the embedded default,
started exactly as README says, shared by every module of a test process that needs no settings
of its own."""

import pytest

from tests.app.browser_support import ARTIFACTS, CHROMIUM, FLAGS, start_app, stop_app, worker_log


@pytest.fixture(scope="session")
def default_app():
    """(url, server process, log path) of ``bash scripts/main.sh`` on the embedded default, one
    per test process (its log: test-artifacts/app-default[-gwN].log), stopped at the end."""
    url, proc, log = start_app("app-default.log")
    yield url, proc, ARTIFACTS / worker_log("app-default.log")
    stop_app(proc, log)


@pytest.fixture(scope="session")
def app_url(default_app):
    """The URL of :func:`default_app`."""
    return default_app[0]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()
