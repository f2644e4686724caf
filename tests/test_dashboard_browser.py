"""The dashboard served by `bncvl dashboard`'s command line, loaded page by page in headless Debian Chromium.

Twice: on the synthetic results of ``tests/conftest.py`` (two machines, a GPU,
planted regressions), and on what a newcomer gets: a real ``bncvl pipeline
--no-serve`` in a fresh copy of the project (asv's virtualenv created,
the quick subset benchmarked, the analysis trained), then ``bncvl dashboard``
with its defaults, where no page may be empty, and every text a page shows must be one that its ``st.`` calls
wrote (Streamlit's "magic" writes a page's bare expressions, such as a constant's docstring, too).
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
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="needs the dashboard extra")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs the dev extra (selenium)")

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1.util import patch_config_options  # noqa: E402

from bncvl.commands import dashboard as dashboard_cli  # noqa: E402
from bncvl.store.engine import STORE_FILE  # noqa: E402
from bncvl.testing import planted  # noqa: E402
from bncvl.track.asv import RESULTS_ENV, RUNS_ENV, STORE_ENV  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NAV_LINK = '[data-testid="stSidebarNavLink"]'
DEPLOY_BUTTON = '[data-testid="stAppDeployButton"]'
# navigation title -> the page's file under dashboard/views/
PAGE_FILES = {
    "Overview": "overview",
    "Regressions": "regressions",
    "Trends": "trends",
    "Devices & variants": "devices",
    "Memory & GPU": "memory_gpu",
    "Quantization": "quantization",
}
# navigation title -> texts the rendered page must show (outside tables: st.dataframe draws on a canvas)
PAGES = {
    "Overview": (
        "BNCVL performance",
        "Commits covered",
        "Machines and devices",
        "16 failed, 0 invalid.",
        "Latest regressions",
    ),
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
def server(results_set: tuple[Path, list[str]], results_store: Path, runs_dir: Path) -> Iterator[str]:
    """`streamlit run` as `bncvl dashboard` starts it, on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    dirs = dashboard_cli.DataDirs((results_set[0],), runs_dir, None)
    command, environ = dashboard_cli.streamlit_command(dirs, port, "127.0.0.1", store=str(results_store))
    with serve(command, port, env=environ) as url:
        yield url


@pytest.fixture(scope="module")
def written(
    results_set: tuple[Path, list[str]], results_store: Path, runs_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """What each page's ``st.`` calls write on the synthetic results' store (the one :func:`server` serves)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("apptest"))
        patch.setenv(STORE_ENV, str(results_store))
        patch.setenv(RESULTS_ENV, str(results_set[0]))
        patch.setenv(RUNS_ENV, str(runs_dir))
        return written_by_pages(dashboard_cli.APP)


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


def wait_for(browser: webdriver.Chrome, page: str, expected: tuple[str, ...]) -> str:
    """Wait until ``page`` shows every text in ``expected`` and has stopped running; return the page's text."""
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
    return browser.find_element(By.TAG_NAME, "body").text


def open_page(browser: webdriver.Chrome, page: str, expected: tuple[str, ...], shot: Path) -> str:
    """Click ``page`` in the sidebar, wait until it shows every text in ``expected`` and has stopped running;
    keep a screenshot at ``shot`` (and in $BNCVL_ARTIFACTS); return the page's text."""
    WebDriverWait(browser, 60).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, NAV_LINK))
    (link,) = [a for a in browser.find_elements(By.CSS_SELECTOR, NAV_LINK) if a.text == page]
    link.click()
    wait_for(browser, page, expected)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("BNCVL_ARTIFACTS"):
        Path(os.environ["BNCVL_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["BNCVL_ARTIFACTS"]) / shot.name)
    print(f"screenshot: {shot}")
    return browser.find_element(By.TAG_NAME, "body").text


# Every visible text node of the main area, outside charts and tables (plotly's SVG and the data grid's canvas
# draw values, not page text).
SHOWN_TEXTS = """
const skip = '[data-testid="stPlotlyChart"], [data-testid="stDataFrame"], [data-testid="stElementToolbar"]';
const main = document.querySelector('[data-testid="stMain"]');
const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
const texts = [];
while (walker.nextNode()) {
  const text = walker.currentNode.textContent.trim();
  const parent = walker.currentNode.parentElement;
  if (text && !parent.closest(skip) && parent.checkVisibility()) texts.push(text);
}
return texts;
"""


def shown_texts(browser: webdriver.Chrome) -> list[str]:
    """The texts the browser shows in the page's main area, one per text node."""
    return browser.execute_script(SHOWN_TEXTS)


def proto_strings(value: object, into: list[str]) -> None:
    """Every string inside a protobuf message (nested messages, repeated fields and maps included)."""
    if isinstance(value, str):
        into.append(value)
    elif hasattr(value, "ListFields"):
        for _field, inner in value.ListFields():
            proto_strings(inner, into)
    elif isinstance(value, Mapping):
        for inner in value.values():
            proto_strings(inner, into)
    elif not isinstance(value, (bytes, int, float)):
        for inner in value:
            proto_strings(inner, into)


def written_by_pages(app_path: Path) -> dict[str, list[str]]:
    """Per navigation title, every string that the page's ``st.`` calls put into the main area's elements (bodies,
    labels, options, chart specs): each page run in Streamlit's AppTest with magic off, so a bare expression of a
    page writes nothing. Call with the working directory and ``BNCVL_*`` variables of the served dashboard."""
    written: dict[str, list[str]] = {}
    with patch_config_options({"runner.magicEnabled": False}):
        app = AppTest.from_file(str(app_path), default_timeout=120)
        app.run()
        for title, name in PAGE_FILES.items():
            app.switch_page(f"views/{name}.py").run()
            assert not app.exception, (title, [error.value for error in app.exception])
            nodes: list[object] = [app.main]
            written[title] = []
            while nodes:
                node = nodes.pop()
                if getattr(node, "proto", None) is not None:
                    proto_strings(node.proto, written[title])
                nodes += list(getattr(node, "children", {}).values())
    return written


def unwritten(shown: list[str], written: list[str]) -> list[str]:
    """The texts of ``shown`` that are part of no string in ``written`` (whitespace normalised): a text node
    shows a piece of one element's markdown, label or option, never something else."""
    pool = [" ".join(text.split()) for text in written]
    return [text for text in shown if not any(" ".join(text.split()) in whole for whole in pool)]


def file_name(page: str) -> str:
    return page.lower().replace(" & ", "_").replace(" ", "_")


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(
    page: str, browser: webdriver.Chrome, written: dict[str, list[str]], screenshots: Path
) -> None:
    open_page(browser, page, PAGES[page], screenshots / f"{file_name(page)}.png")
    assert unwritten(shown_texts(browser), written[page]) == [], "text that no st. call wrote"
    assert browser.find_elements(By.CSS_SELECTOR, DEPLOY_BUTTON) == [], "a Deploy button on a local tool"
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
    "Trends": ("Trends", "Band: interquartile range", "RelativeCpuTime.track_eval_forward", "time ratio"),
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
    "No results in the store",
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
    """`bncvl dashboard` started in the run's repository with no options (the pipeline's step 5), in Chromium."""
    port = free_port()
    home = first_run[0].parent / "home"
    command = [sys.executable, "-P", "-m", "bncvl.cli", "dashboard", "--port", str(port)]
    with (
        serve(command, port, cwd=first_run[0], env={**os.environ, "HOME": str(home)}) as url,
        chromium(url, tmp_path_factory) as driver,
    ):
        yield driver


@pytest.fixture(scope="module")
def first_run_written(first_run: tuple[Path, str]) -> dict[str, list[str]]:
    """What each page's ``st.`` calls write on the run's data, in the directories `bncvl dashboard` picks there."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(first_run[0])
        patch.setenv("HOME", str(first_run[0].parent / "home"))
        dirs = dashboard_cli.resolve_dirs()
        store = str(dirs.results_dirs[0] / STORE_FILE)  # the embedded store `bncvl dashboard` publishes into
        _command, environ = dashboard_cli.streamlit_command(dirs, free_port(), "127.0.0.1", store=store)
        for name in (RESULTS_ENV, RUNS_ENV, STORE_ENV):
            patch.setenv(name, environ[name])
        return written_by_pages(dashboard_cli.APP)


@pytest.mark.parametrize("page", list(FIRST_RUN_PAGES))
def test_after_a_real_pipeline_run_no_page_is_empty(
    page: str,
    first_run: tuple[Path, str],
    first_run_browser: webdriver.Chrome,
    first_run_written: dict[str, list[str]],
    screenshots: Path,
) -> None:
    body = open_page(first_run_browser, page, FIRST_RUN_PAGES[page], screenshots / f"first-run-{file_name(page)}.png")
    # e.g. "Commits per machine below which no step can be found.": the docstring of a page's constant, which
    # Streamlit's magic wrote at the top of the Overview
    assert unwritten(shown_texts(first_run_browser), first_run_written[page]) == [], "text that no st. call wrote"
    assert first_run_browser.find_elements(By.CSS_SELECTOR, DEPLOY_BUTTON) == [], "a Deploy button on a local tool"
    assert [state for state in EMPTY_STATES if state in body] == []
    charts = first_run_browser.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
    assert len(charts) >= FIRST_RUN_CHARTS[page], f"{page}: {len(charts)} chart(s)"
    errors = first_run_browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert errors == [] and "Traceback" not in body
    if page in ("Trends", "Memory & GPU"):
        assert first_run[1][:8] in body, "the commit axis is labelled by the commit's short hash"
    if page == "Trends":
        # the absolute time is one click away, drawn with the noise band measured for it
        (absolute,) = [e for e in first_run_browser.find_elements(By.TAG_NAME, "label") if e.text == "absolute time"]
        absolute.click()
        body = wait_for(first_run_browser, page, ("Latency.time_eval_forward", "Dotted band: ÷1.6 to ×1.6"))
        assert "time (µs)" in body or "time (ms)" in body, "the tiny forward's seconds in µs (ms on a slow machine)"
