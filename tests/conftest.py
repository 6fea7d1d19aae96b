from __future__ import annotations

import pytest

from tests import network_guard


def pytest_configure(config):
    network_guard.install()


@pytest.fixture(autouse=True)
def _no_network_beyond_loopback():
    """Fail any test during which something tried to leave the loopback range."""
    before = len(network_guard.violations)
    yield
    new = network_guard.violations[before:]
    if new:
        pytest.fail("network guard: " + "; ".join(new), pytrace=False)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (the suite's own, db 15)."""
    from config.redis import get_redis

    get_redis().flushdb()
    yield


@pytest.fixture(autouse=True)
def _experiments_forgotten():
    """Every test starts as a fresh process as far as A/B experiments go: no snapshot of
    them (a previous test's, near its 5 s age, would expire mid-test), nobody resolved."""
    from abtests.services import process_state_reset

    process_state_reset()
    yield
    process_state_reset()


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def video_site():
    """The local video site, clips made once (cached in var/clips between runs)."""
    from sandbox.videosite import VideoSite

    site = VideoSite().start()
    yield site
    site.stop()


@pytest.fixture
def page():
    """A page in Debian's headless Chromium (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


@pytest.fixture(autouse=True)
def _users_forgotten():
    """No test sees a user row or a cached file a previous test left in this process's
    memory (the ids and media keys are reused, the database is not)."""
    from downloads.cache import recent_files_forget
    from users.services import users_forget_all

    users_forget_all()
    recent_files_forget()
    yield
