"""The dashboard served by `bncvl dashboard`'s command line, loaded page by page in headless Debian Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="needs the dashboard extra")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs the dev extra (selenium)")

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from bncvl import dashboard as dashboard_cli  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NAV_LINK = '[data-testid="stSidebarNavLink"]'
# navigation title -> texts the rendered page must show (outside tables: st.dataframe draws on a canvas)
PAGES = {
    "Overview": ("BNCVL performance", "Commits covered", "Machines and devices", "16 failed.", "Latest regressions"),
    "Regressions": ("Regressions", "step(s) shown of", "Download CSV"),
    "Trends": ("Trends", "Log scale", "Band: interquartile range"),
    "Devices & variants": ("Devices & variants", "Common commit", "GPU vs CPU"),
    "Memory & GPU": ("Memory & GPU", "Weight storage: float vs packed", "peak_forward_bytes", "gpu_utilization"),
    "Quantization": ("Quantization", "Accuracy against the float baseline", "Latent-weight histograms"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(results_set: tuple[Path, list[str]], runs_dir: Path) -> Iterator[str]:
    """`streamlit run` as `bncvl dashboard` starts it, on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    dirs = dashboard_cli.DataDirs((results_set[0],), runs_dir, None)
    command, environ = dashboard_cli.streamlit_command(dirs, port, "127.0.0.1")
    process = subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"streamlit did not come up on {url}:\n{output}")
            time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium through Debian's chromedriver (given both paths, Selenium downloads nothing), on the app.

    Pages are then opened from the sidebar, as a user does: a full reload per page would make the browser
    parse plotly.js again each time, which takes most of a minute on a busy 2-core machine.
    """
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(
                f"{path} not found: apt-get install -y chromium chromium-driver (or deselect with -m 'not browser')"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.get(server)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page screenshots are kept (printed by the test; also copied to $BNCVL_ARTIFACTS if set)."""
    return tmp_path_factory.mktemp("dashboard-screenshots")


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(page: str, browser: webdriver.Chrome, screenshots: Path) -> None:
    expected = PAGES[page]
    WebDriverWait(browser, 60).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, NAV_LINK))
    (link,) = [a for a in browser.find_elements(By.CSS_SELECTOR, NAV_LINK) if a.text == page]
    link.click()
    try:
        WebDriverWait(browser, 150).until(
            lambda driver: (
                all(text in driver.find_element(By.TAG_NAME, "body").text for text in expected)
                and not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
            )
        )
    except TimeoutException:
        body = browser.find_element(By.TAG_NAME, "body").text
        pytest.fail(f"page {page!r} never showed {expected}; it shows:\n{body[:3000]}")
    name = page.lower().replace(" & ", "_").replace(" ", "_")
    shot = screenshots / f"{name}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("BNCVL_ARTIFACTS"):
        Path(os.environ["BNCVL_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["BNCVL_ARTIFACTS"]) / shot.name)
    print(f"screenshot: {shot}")
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"], [data-testid="stError"]')
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body
    if page == "Overview":
        # the one error element allowed: the health line naming the fixture's failed benchmark
        assert [e.text for e in errors if "failed" not in e.text] == []
    else:
        assert errors == []
    if page == "Regressions":
        assert "2 step(s) shown" in body, "the two planted regressions, before any filter"
