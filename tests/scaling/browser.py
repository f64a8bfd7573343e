"""A real headless Chromium for the report's reader tests, and the README's screenshot.

Debian's Chromium (``apt-get install chromium chromium-driver``) driven by selenium (the
``test`` extra). The browser starts with a new empty profile and nothing that reaches the
network (no sync, no component updates, no QUIC), so it works on a closed machine.
:func:`missing` says why it cannot start here (tests skip with that reason).

Screenshot of a report: ``python -m tests.scaling.browser REPORT.html OUT.png``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def _binaries() -> tuple[str | None, str | None]:
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    return browser, shutil.which("chromedriver")


def missing() -> str | None:
    """Why no browser can be started here (None: it can)."""
    browser, driver = _binaries()
    if browser is None:
        return "no Chromium on this machine (apt-get install chromium chromium-driver)"
    if driver is None:
        return "no chromedriver on this machine (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 1000):
    """A selenium driver of a headless Chromium with a fresh profile, quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _binaries()
    with tempfile.TemporaryDirectory(prefix="eqscale-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def screenshot(driver, out: Path) -> Path:
    """The whole page (not only the window) as a PNG."""
    import base64

    size = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}})
    out.write_bytes(base64.b64decode(shot["data"]))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.scaling.browser REPORT.html OUT.png", file=sys.stderr)
        return 2
    reason = missing()
    if reason:
        print(f"cannot take a screenshot: {reason}", file=sys.stderr)
        return 1
    with chromium(width=1200) as driver:
        driver.get(Path(argv[0]).resolve().as_uri())
        print(screenshot(driver, Path(argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
