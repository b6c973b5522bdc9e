"""Screenshot of the HTML report in headless Chromium (make report-screenshot).

    python scripts/report_screenshot.py out/flagged.html out/report.png [--row 1]

Selects a row first (its claims A and B highlighted in the text), so the picture shows what a
reader sees after a click. ``chromium_driver`` is also what tests/test_report_browser.py uses.
Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) and
selenium.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)
INSTALL = "apt-get install chromium chromium-driver (and pip install selenium)"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is missing."""
    browser = next((p for p in CHROMIUM if Path(p).is_file()), None) or shutil.which("chromium")
    driver = next((p for p in CHROMEDRIVER if Path(p).is_file()), None) or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def chromium_driver(user_data_dir: str | Path, width: int = 1600, height: int = 1000):
    """A headless Chromium under selenium with a fresh profile, no network services, and the
    browser console log kept (driver.get_log("browser"))."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if not found:
        raise RuntimeError(f"Chromium or chromedriver is missing; install: {INSTALL}")
    browser, driver = found
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={user_data_dir}")
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(executable_path=driver))


def screenshot(report: Path, png: Path, row: int = 1, width: int = 1600, height: int = 1000) -> None:
    from selenium.webdriver.common.by import By

    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="contradict-chromium-") as profile:
        drv = chromium_driver(profile, width, height)
        try:
            # the page gets exactly width x height (the window also counts its own frame)
            drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            drv.get(report.resolve().as_uri())
            rows = drv.find_elements(By.CSS_SELECTOR, "#flags tbody tr")
            if rows and row > 0:
                rows[min(row, len(rows)) - 1].click()
            if not drv.save_screenshot(str(png)):
                raise RuntimeError(f"Chromium could not write {png}")
        finally:
            drv.quit()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--row", type=int, default=1, help="row to select first (0: none)")
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=1000)
    a = ap.parse_args()
    if not a.report.is_file():
        print(f"error: {a.report} not found; fix: make run (it writes out/flagged.html)", file=sys.stderr)
        return 1
    if not find_chromium():
        print(f"error: Chromium not found; fix: {INSTALL}", file=sys.stderr)
        return 1
    screenshot(a.report, a.png, a.row, a.width, a.height)
    print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
