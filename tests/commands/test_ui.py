"""The MLflow UI, in a real headless Chromium, shows the runs this project logs.

Needs the Debian packages `chromium` and `chromium-driver` (.ci/run installs them) and selenium,
pointed at those binaries: nothing is downloaded. The screenshot goes to screenshots/ for humans.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port, local_server

SCREENSHOTS = ROOT / "screenshots"
WAIT_S = 90  # the UI is a React app; first paint on a loaded 2-CPU machine takes a while
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,900",
)


def browser_binaries() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@contextlib.contextmanager
def mlflow_ui(tracking_uri: str, log: Path) -> Iterator[str]:
    """`mlflow server` (what `mlflow ui` runs) on a free loopback port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    url = f"http://127.0.0.1:{port}"
    with local_server(command, url, "/health", log, WAIT_S, env=env):
        yield url


@contextlib.contextmanager
def chromium(chromium_path: str, driver_path: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def open_runs_table(driver, url: str, experiment_id: str, run_names: list[str]) -> None:
    """The experiment's runs table with `run_names` on screen.

    MLflow 3 opens experiments in its GenAI view by default; `workflowType=machine_learning` is
    the "Model training" switch at the top left of the page.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/#/experiments/{experiment_id}/runs?workflowType=machine_learning")
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    WebDriverWait(driver, WAIT_S).until(lambda d: all(name in body(d) for name in run_names))
    for close in driver.find_elements(By.CSS_SELECTOR, "button[aria-label=Close]"):
        close.click()  # the assistant side panel, which hides the right half of the table


def show_columns(driver, names: list[str], hide: tuple[str, ...] = ()) -> list[str]:
    """Tick columns in the "Columns" menu (untick `hide`); returns the table's column headers."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S)
    menu = wait.until(
        lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Columns"]
    )
    menu[0].click()
    for name in [*hide, *names]:  # hide first: columns beyond the window are not rendered
        checkbox = wait.until(
            lambda d, name=name: d.find_element(
                By.XPATH,
                f"//span[@title='{name}']/preceding-sibling::span[contains(@class, 'checkbox')]",
            )
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", checkbox)
        driver.execute_script("arguments[0].click();", checkbox)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)

    def headers(d) -> list[str]:
        return [h.text for h in d.find_elements(By.CSS_SELECTOR, "[role=columnheader]") if h.text]

    wait.until(lambda d: all(name in headers(d) for name in names))
    return headers(driver)


def capture_runs_page(
    tracking_uri: str,
    experiment_id: str,
    run_names: list[str],
    columns: list[str],
    png: Path,
    hide: tuple[str, ...] = (),
) -> tuple[list[str], str]:
    """Start the UI, open the runs table, show `columns`, save a screenshot; (headers, text)."""
    binaries = browser_binaries()
    assert binaries, "chromium and chromedriver are needed"
    png.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    log = SCREENSHOTS / f"{png.stem}.server.log"
    with mlflow_ui(tracking_uri, log) as url, chromium(*binaries) as d:
        from selenium.webdriver.common.by import By

        open_runs_table(d, url, experiment_id, run_names)
        headers = show_columns(d, columns, hide)
        text = d.find_element(By.TAG_NAME, "body").text
        time.sleep(1)  # let the last rows finish painting
        d.save_screenshot(str(png))
    return headers, text


@pytest.mark.slow  # a server and a browser: 20-30 s
@pytest.mark.skipif(
    browser_binaries() is None, reason="needs apt packages chromium, chromium-driver"
)
def test_mlflow_ui_lists_the_runs_with_a_metric_column(mlflow_store, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    from src.tracking import store

    client = MlflowClient(mlflow_store)
    experiment_id = store.ensure_experiment(client, f"ui-{uuid.uuid4().hex[:6]}")
    runs = {f"ui-alpha-{uuid.uuid4().hex[:4]}": 0.9123, f"ui-beta-{uuid.uuid4().hex[:4]}": 0.9871}
    for name, accuracy in runs.items():
        run = client.create_run(experiment_id, run_name=name)
        client.log_metric(run.info.run_id, "test/acc", accuracy)
        client.set_terminated(run.info.run_id)

    png = SCREENSHOTS / "mlflow_ui_runs.png"
    headers, text = capture_runs_page(mlflow_store, experiment_id, list(runs), ["test/acc"], png)

    assert "test/acc" in headers
    assert all(name in text for name in runs)
    assert "0.9871" in text and "0.9123" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
