"""``hecon app`` in a real browser: headless Chromium driven through Selenium (Debian's
chromium-driver). Skipped when either is absent."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

import hecon
from hecon.cea import threshold_price
from hecon.examples import DEFAULT_WORKBOOK

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/lib/chromium/chromedriver" if Path("/usr/lib/chromium/chromedriver").exists() else None)
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromedriver (apt chromium-driver)")
PRICE = 1_200_000.0  # CAR T 2L then costs more than SOC: an ICER to show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(hecon.__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "hecon", "app", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stdout.read().decode())
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield drv
    drv.quit()


def _requested_urls(drv) -> list[str]:
    """Every URL the page asked for (Chrome DevTools Network events)."""
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _wait_text(drv, element_id: str, expected: str, timeout: float = 15.0) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout).until(
        lambda d: expected in d.find_element(By.ID, element_id).text)
    return drv.find_element(By.ID, element_id).text


def _set_number(drv, element_id: str, value: float) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = drv.find_element(By.ID, element_id)
    drv.execute_script("arguments[0].scrollIntoView();", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(f"{value:.0f}", Keys.TAB)


def _downloaded(folder: Path, timeout: float = 15.0) -> Path:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = [p for p in folder.glob("*.xlsx") if p.stat().st_size > 0]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.2)
    pytest.fail(f"no workbook downloaded into {folder}")


def test_price_change_updates_icer_and_threshold_without_leaving_localhost(app_url, driver,
                                                                          downloads):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from hecon.app.ui import input_ids

    model = hecon.load_workbook(DEFAULT_WORKBOOK)
    edited = model.with_values(cilta_cel_price=PRICE)
    icer = hecon.run(edited).icer_table().set_index("status").loc["ND", "icer"]
    expected_price = threshold_price(edited, "cilta_cel_price", "CAR T 3L", "SOC", 100_000.0)

    driver.get(app_url)
    _wait_text(driver, "incremental", "reference", timeout=30)  # the base case is shown
    _set_number(driver, input_ids(model)["cilta_cel_price"], PRICE)
    _wait_text(driver, "incremental", f"{icer:,.0f} USD per QALY")
    Select(driver.find_element("id", "strategy")).select_by_value("CAR T 3L")
    text = _wait_text(driver, "threshold", f"{expected_price:,.0f} USD")
    assert "CAR T 3L vs SOC at 100,000 USD per QALY" in text
    if os.environ.get("HECON_APP_SCREENSHOT"):  # refreshes docs/app.png (see the README)
        driver.save_screenshot(os.environ["HECON_APP_SCREENSHOT"])

    button = driver.find_element(By.ID, "save_inputs")
    driver.execute_script("arguments[0].scrollIntoView();", button)
    button.click()
    again = hecon.run(hecon.load_workbook(_downloaded(downloads))).summary()
    expected = hecon.run(edited).summary()
    pd.testing.assert_frame_equal(again, expected, rtol=1e-9, atol=0)

    urls = _requested_urls(driver)
    assert urls, "the performance log recorded no request"
    foreign = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname != "127.0.0.1"]
    assert not foreign, f"requests left localhost: {foreign}"
