"""The dashboard served by `bncvl dashboard`'s command line, loaded page by page in headless Debian Chromium.

Twice: on the synthetic results of ``tests/conftest.py`` (two machines, a GPU,
planted regressions), and on what a newcomer gets: a real ``bncvl pipeline
--no-serve`` in a fresh copy of the project (asv's virtualenv created,
the quick subset benchmarked, the analysis trained), then ``bncvl dashboard``
with its defaults, where no page may be empty.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
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

from bncvl.commands import dashboard as dashboard_cli  # noqa: E402
from bncvl.testing import planted  # noqa: E402

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


@contextlib.contextmanager
def serve(command: list[str], port: int, **popen: object) -> Iterator[str]:
    """Run ``command`` (a server on ``port`` of 127.0.0.1) in a process group of its own; yield its URL once
    Streamlit answers its health check, and stop the group afterwards."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **popen
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"streamlit did not come up on {url}:\n{output}")
            time.sleep(0.5)
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # `bncvl dashboard` and the streamlit it started
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(results_set: tuple[Path, list[str]], runs_dir: Path) -> Iterator[str]:
    """`streamlit run` as `bncvl dashboard` starts it, on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    dirs = dashboard_cli.DataDirs((results_set[0],), runs_dir, None)
    command, environ = dashboard_cli.streamlit_command(dirs, port, "127.0.0.1")
    with serve(command, port, env=environ) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium on the synthetic results' dashboard."""
    with chromium(server, tmp_path_factory) as driver:
        yield driver


@contextlib.contextmanager
def chromium(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Debian's Chromium through Debian's chromedriver (given both paths, Selenium downloads nothing), on ``url``.

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
    try:
        driver.get(url)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page screenshots are kept (printed by the test; also copied to $BNCVL_ARTIFACTS if set)."""
    return tmp_path_factory.mktemp("dashboard-screenshots")


def open_page(browser: webdriver.Chrome, page: str, expected: tuple[str, ...], shot: Path) -> str:
    """Click ``page`` in the sidebar, wait until it shows every text in ``expected`` and has stopped running;
    keep a screenshot at ``shot`` (and in $BNCVL_ARTIFACTS); return the page's text."""
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
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("BNCVL_ARTIFACTS"):
        Path(os.environ["BNCVL_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["BNCVL_ARTIFACTS"]) / shot.name)
    print(f"screenshot: {shot}")
    return browser.find_element(By.TAG_NAME, "body").text


def file_name(page: str) -> str:
    return page.lower().replace(" & ", "_").replace(" ", "_")


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(page: str, browser: webdriver.Chrome, screenshots: Path) -> None:
    open_page(browser, page, PAGES[page], screenshots / f"{file_name(page)}.png")
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"], [data-testid="stError"]')
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body
    if page == "Overview":
        # the one error element allowed: the health line naming the fixture's failed benchmark
        assert [e.text for e in errors if "failed" not in e.text] == []
    else:
        assert errors == []
    if page == "Regressions":
        # The two planted regressions and the relative timing and instruction count that confirm them;
        # the within-noise and unconfirmed steps are not shown before a filter asks for them.
        assert "4 step(s) shown of 7 found" in body


# navigation title -> texts that only show when the page has data from the run
FIRST_RUN_PAGES = {
    "Overview": ("BNCVL performance", "Commits covered", "values measured", "1 analysis run(s)"),
    "Regressions": ("Regressions", "step(s) shown of", "Download CSV"),
    "Trends": ("Trends", "Band: interquartile range", "time ("),
    "Devices & variants": ("Devices & variants", "Common commit", "speed-up over reference"),
    "Memory & GPU": ("Memory & GPU", "peak_forward_bytes over commits", "size (kB)", "bytes at rest"),
    "Quantization": ("Quantization", "test accuracy, BNCVL vs float", "optimizer step", "latent weight"),
}
# charts each page draws at least, by default
FIRST_RUN_CHARTS = {
    "Overview": 0,
    "Regressions": 0,
    "Trends": 1,
    "Devices & variants": 1,
    "Memory & GPU": 3,
    "Quantization": 4,
}
EMPTY_STATES = (
    "No asv results",
    "No analysis runs",
    "Pick at least one machine",
    "No options to select",
    "No measured value",
    "No memory benchmarks",
    "No weight-storage benchmarks",
    "No bench_quantization",
)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh copy of the project (one commit) after a real `bncvl pipeline --no-serve` with its defaults, as
    `make run` runs it; and the commit. About 2.5 minutes on an idle 2-core machine, most of it asv creating
    its virtualenv (torch) and benchmarking the quick subset. asv's machine file goes to a temporary $HOME."""
    root = tmp_path_factory.mktemp("first-run")
    repo = root / "repo"
    repo.mkdir()
    commit = planted.make_repo(repo)
    (root / "home").mkdir()
    environ = {**os.environ, "HOME": str(root / "home")}
    command = [sys.executable, "-P", "-m", "bncvl.cli", "pipeline", "--no-serve"]
    result = subprocess.run(command, cwd=repo, env=environ, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "results ready in" in result.stdout
    return repo, commit


@pytest.fixture(scope="module")
def first_run_browser(
    first_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[webdriver.Chrome]:
    """`bncvl dashboard` started in the run's repository with no options (the pipeline's step 4), in Chromium."""
    port = free_port()
    home = first_run[0].parent / "home"
    command = [sys.executable, "-P", "-m", "bncvl.cli", "dashboard", "--port", str(port)]
    with (
        serve(command, port, cwd=first_run[0], env={**os.environ, "HOME": str(home)}) as url,
        chromium(url, tmp_path_factory) as driver,
    ):
        yield driver


@pytest.mark.parametrize("page", list(FIRST_RUN_PAGES))
def test_after_a_real_pipeline_run_no_page_is_empty(
    page: str, first_run: tuple[Path, str], first_run_browser: webdriver.Chrome, screenshots: Path
) -> None:
    body = open_page(first_run_browser, page, FIRST_RUN_PAGES[page], screenshots / f"first-run-{file_name(page)}.png")
    assert [state for state in EMPTY_STATES if state in body] == []
    charts = first_run_browser.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
    assert len(charts) >= FIRST_RUN_CHARTS[page], f"{page}: {len(charts)} chart(s)"
    errors = first_run_browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert errors == [] and "Traceback" not in body
    if page in ("Trends", "Memory & GPU"):
        assert first_run[1][:8] in body, "the commit axis is labelled by the commit's short hash"
    if page == "Trends":
        assert "time (µs)" in body or "time (ms)" in body, "the tiny forward's seconds in µs (ms on a slow machine)"
