"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven through Selenium, for the page tests.

The tests skip, saying why, only when the browser or its driver is not installed; `.ci/run` installs both.
"""

import shutil
import tempfile
from collections.abc import Iterator

import pytest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A fresh headless Chromium with its own profile folder, closed after the module's tests."""
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: pip install -e .[dev]")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def images_loaded(driver) -> list[tuple[str, int]]:
    """(alt, naturalWidth) of every <img> of the page that is meant to be shown, once each has settled."""
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const images = [...document.images].filter((i) => i.getAttribute("src"));
        Promise.all(images.map((i) => i.decode().catch(() => null)))
          .then(() => done(images.map((i) => [i.alt, i.naturalWidth])));
        """
    )


def wait_for(driver, script: str, timeout: float = 20):
    """Wait until the JavaScript expression `script` is truthy; return its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {script}"))
