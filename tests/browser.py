"""Headless Chromium for the browser tests, driven by Selenium through Debian's chromedriver.

Selenium is given the chromedriver and chromium paths explicitly and runs offline, so it never
looks for or downloads a driver. Where chromium, chromedriver or selenium is missing, the tests
that need a browser skip and say what to install.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

APT = "install the Debian packages chromium and chromium-driver (apt-get install chromium chromium-driver)"
PIP = "install the test extra (pip install -e '.[test]')"


def _binaries() -> tuple[str, str]:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                     if p), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(f"no headless browser ({'chromium' if chromium is None else 'chromedriver'} "
                    f"missing): {APT}")
    return chromium, driver


class Browser:
    """A Selenium Chrome session with the few helpers these tests share."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``arguments``, ``return``) in the page."""
        return self.driver.execute_script(script, *args)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def element(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def hover(self, css: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver, duration=0).move_to_element(self.element(css)).perform()

    def keys(self, text: str) -> None:
        """Type ``text`` into whatever has the focus (WebDriver key codes such as "\\ue014")."""
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver, duration=0).send_keys(text).perform()

    def window(self, width: int, height: int = 1000) -> None:
        self.driver.set_window_size(width, height)

    def prefer_colour_scheme(self, scheme: str | None) -> None:
        """Emulate the reader's system setting (``prefers-color-scheme``): "light", "dark", or
        None for the browser's own (light in headless Chromium)."""
        features = [{"name": "prefers-color-scheme", "value": scheme or ""}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})

    def png(self) -> bytes:
        """The viewport as PNG bytes."""
        data = self.driver.get_screenshot_as_png()
        assert isinstance(data, bytes)
        return data

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.png())


@contextmanager
def chromium(args: Sequence[str] = (), width: int = 1280, height: int = 1000) -> Iterator[Browser]:
    """A fresh headless Chromium (its own profile folder), closed afterwards."""
    binary, driver_path = _binaries()
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(f"selenium is not installed: {PIP}")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch anything
    profile = tempfile.mkdtemp(prefix="rfdocs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--force-device-scale-factor=1", f"--window-size={width},{height}",
                f"--user-data-dir={profile}", *args):
        options.add_argument(arg)
    try:
        try:
            driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        except WebDriverException as err:
            pytest.skip(f"chromedriver did not start a session ({err.msg}): {APT}")
        try:
            driver.set_script_timeout(30)
            driver.set_page_load_timeout(30)
            yield Browser(driver)
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (pages get a real origin, so themes can keep
    their choice in localStorage); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
