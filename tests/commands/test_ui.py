"""The MLflow UI, in a real headless Chromium, shows the runs this project logs: their metrics,
a group's seed replicas aggregated by "Group by" on their config_hash tag, and a run's system
metrics.

Needs the Debian packages `chromium` and `chromium-driver` (.ci/run installs them) and selenium,
pointed at those binaries: nothing is downloaded. The runs table's screenshot goes to
screenshots/ for humans; the others to the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port, local_server, tiny_train_args

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


def group_by(driver, tag: str) -> None:
    """Group the runs table by a tag: its "Group by" menu, searched for the tag, which is ticked."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S)
    buttons = lambda d: d.find_elements(By.TAG_NAME, "button")  # noqa: E731
    wait.until(lambda d: [b for b in buttons(d) if b.text.strip() == "Group by"])[0].click()
    menu = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[role=menu]"))
    menu.find_element(By.TAG_NAME, "input").send_keys(tag)
    items = lambda d: d.find_elements(By.CSS_SELECTOR, "[role=menu] [role=menuitemcheckbox]")  # noqa: E731
    wait.until(lambda d: [i for i in items(d) if i.text.strip() == tag])[0].click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait.until(lambda d: any(b.text.strip() == f"Group by: {tag}" for b in buttons(d)))


def row_texts(driver, label: str) -> list[str]:
    """The lines of the table row that shows `label`: the table draws its pinned and scrolled
    columns as separate row elements sharing one row-index."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "[role=row][row-index]")
    index = next(r.get_attribute("row-index") for r in rows if label in r.text)
    same = [r for r in rows if r.get_attribute("row-index") == index]
    return [line for r in same for line in r.text.splitlines()]


def numbers(lines: list[str]) -> list[float]:
    return [float(line) for line in lines if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", line)]


@pytest.mark.slow  # a 2-seed group of tiny trainings, a server and a browser: 40-90 s
@pytest.mark.skipif(
    browser_binaries() is None, reason="needs apt packages chromium, chromium-driver"
)
def test_mlflow_ui_groups_seed_replicas_by_config_hash_and_shows_system_metrics(
    tiny_data_dir, mlflow_store, tmp_path, monkeypatch
) -> None:
    from mlflow.tracking import MlflowClient
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from src.train import main

    experiment = f"ui-group-{uuid.uuid4().hex[:6]}"
    words = [*tiny_train_args(tiny_data_dir, tmp_path, experiment), "--trainer.max_epochs=1"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    assert main([*words, "--mlflow.log_model=false", "--seeds=2"]) == 0
    client = MlflowClient(mlflow_store)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id])
    members = [r for r in runs if "group_id" in r.data.tags]
    (parent,) = [r for r in runs if r.info.run_id == members[0].data.tags["group_id"]]
    (config_hash,) = {r.data.tags["config_hash"] for r in members}
    mean_loss = statistics.mean(r.data.metrics["test/loss"] for r in members)

    binaries = browser_binaries()
    assert binaries, "chromium and chromedriver are needed"
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    with mlflow_ui(mlflow_store, tmp_path / "server.log") as url, chromium(*binaries) as d:
        open_runs_table(d, url, experiment_id, [parent.info.run_name])  # members nest under it
        group_by(d, "config_hash")
        show_columns(d, ["test/loss"])
        group_row = row_texts(d, f"Group: {config_hash}")
        d.save_screenshot(str(tmp_path / "grouped.png"))

        d.get(f"{url}/#/experiments/{experiment_id}/runs/{members[0].info.run_id}/system-metrics")
        WebDriverWait(d, WAIT_S).until(lambda d: "cpu_utilization_percentage" in body(d))
        system_page = body(d)
        search = d.find_element(By.CSS_SELECTOR, "input[placeholder='Search metric charts']")
        search.send_keys("memory")  # charts below the fold are drawn only when searched or seen
        WebDriverWait(d, WAIT_S).until(lambda d: "system_memory_usage_megabytes" in body(d))
        d.save_screenshot(str(tmp_path / "system_metrics.png"))

    assert any(abs(value - mean_loss) < 1e-6 for value in numbers(group_row)), group_row
    assert re.search(r"System metrics\s*\((\d+)\)", system_page)
