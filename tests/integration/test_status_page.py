"""The status page in headless Chromium (Debian's `chromium` and `chromium-driver`, see
`make tools`) against a running worker: it loads, its form scores a text, and after a burst
it lists the alert; the screenshot is kept in the test's tmp dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from model import SentimentModel
from tests.support import ALERT_ENV, WorkerProcess, burst, produce

pytestmark = pytest.mark.integration

TOKEN = "page-token-5e1f2a7c9d3b8046"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1800",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.fail("needs Debian's chromium and chromium-driver: run `make tools`")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    yield driver
    driver.quit()


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def test_the_page_scores_a_text_sends_feedback_and_shows_a_raised_alert(
    unique_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    browser: webdriver.Chrome,
    tmp_path: Path,
) -> None:
    worker = start_worker({**unique_env, **ALERT_ENV, "BADBUZZ_WEB_TOKEN": TOKEN})
    worker.wait_ready()
    wait = WebDriverWait(browser, 30)
    browser.get(f"http://127.0.0.1:{worker.web_port}/")
    version = SentimentModel.load().version
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "model-version"), version))
    assert browser.find_elements(By.CSS_SELECTOR, "#alerts li.alert") == []
    assert browser.find_element(By.ID, "alerts-empty").is_displayed()

    browser.find_element(By.ID, "predict-text").send_keys(
        "the crew was lovely, thank you\nflight cancelled again, worst airline"
    )
    browser.find_element(By.ID, "predict-submit").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#predict-result tbody tr")) == 2)
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#predict-result tbody tr")
    ]
    assert [row[1:3] for row in rows] == [["en", "positive"], ["en", "negative"]]

    browser.find_element(By.ID, "feedback-tweet-id").send_keys("page-1")
    Select(browser.find_element(By.ID, "feedback-predicted")).select_by_visible_text("positive")
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.ID, "feedback-submit").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "feedback-result"), "401"))
    browser.find_element(By.ID, "token").clear()
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "feedback-submit").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "feedback-result"), "202"))
    assert "tweet page-1" in text_of(browser, "feedback-result")

    produce(
        unique_env["KAFKA_BOOTSTRAP_SERVERS"],
        unique_env["BADBUZZ_TOPIC_RAW"],
        burst("p", 40, "airparadis"),
    )
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#alerts li.alert"))
    alert = browser.find_element(By.CSS_SELECTOR, "#alerts li.alert")
    assert "negative_sentiment · airparadis" in alert.text
    examples = alert.find_elements(By.CSS_SELECTOR, ".examples li")
    assert examples and "(p-" in examples[0].text
    assert not browser.find_element(By.ID, "alerts-empty").is_displayed()
    wait.until(lambda d: not text_of(d, "throughput").startswith("0.0 "))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#lag tbody tr"))

    screenshot = tmp_path / "status-page.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
