"""The portal in a real headless Chromium, through selenium (no JavaScript in the pages).

Starts the app with werkzeug's server on 127.0.0.1 (a free port) in a thread.
Skips when Chromium or chromedriver is missing, except under ``CI=true``,
where their absence fails the test so CI cannot pass without running it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("BREEDHUB_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BREEDHUB_CHROMEDRIVER", "/usr/bin/chromedriver"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True),
]


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app served on 127.0.0.1 at a free port; yields its base URL."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        if IN_CI:
            pytest.fail(
                f"CI=true but {', '.join(missing)} not found: install chromium and chromedriver"
            )
        pytest.skip(f"{', '.join(missing)} not found")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for_new_page(browser, old_element) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15).until(ec.staleness_of(old_element))


def _click_and_wait(browser, element) -> None:
    page = browser.find_element("tag name", "html")
    element.click()
    _wait_for_new_page(browser, page)


def test_portal__search_then_open_accession(world, server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    assert "breedhub" in browser.title
    box = browser.find_element(By.ID, "home-q")
    box.send_keys("iraz 1")
    page = browser.find_element(By.TAG_NAME, "html")
    box.submit()
    _wait_for_new_page(browser, page)

    assert "/germplasm?" in browser.current_url
    assert "1 accession" in browser.find_element(By.ID, "results-heading").text
    rows = browser.find_elements(By.CSS_SELECTOR, "table.data tbody tr")
    assert len(rows) == 1 and "IRAZ-1" in rows[0].text
    browser.save_screenshot(str(tmp_path / "portal-search.png"))

    _click_and_wait(browser, rows[0].find_element(By.LINK_TEXT, "BH-0001"))
    assert browser.current_url == f"{server}/germplasm/{world.iraz1}"
    assert "BH-0001" in browser.find_element(By.TAG_NAME, "h1").text
    passport = browser.find_element(By.ID, "passport").text
    assert "Breeder's line" in passport and "IR64/Azucena" in passport
    browser.save_screenshot(str(tmp_path / "portal-accession.png"))

    _click_and_wait(
        browser,
        browser.find_element(By.CSS_SELECTOR, f'#pedigree a[href="/germplasm/{world.ir64}"]'),
    )
    assert browser.current_url.endswith(f"/germplasm/{world.ir64}")
    assert "IR64" in browser.find_element(By.TAG_NAME, "h1").text
    assert (tmp_path / "portal-search.png").stat().st_size > 0


def test_portal__filters_without_javascript(world, server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/germplasm")
    Select(browser.find_element(By.ID, "species")).select_by_value("rice")
    Select(browser.find_element(By.ID, "page_size")).select_by_value("10")
    _click_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, ".search-form button[type=submit]")
    )
    assert "5 accessions" in browser.find_element(By.ID, "results-heading").text
    # the form shows the chosen filter again, and its trait list is the species'
    assert (
        Select(browser.find_element(By.ID, "species")).first_selected_option.get_attribute("value")
        == "rice"
    )
    browser.find_element(By.ID, "min").send_keys("abc")
    Select(browser.find_element(By.ID, "trait")).select_by_value("PlantHeight_cm")
    _click_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, ".search-form button[type=submit]")
    )
    assert "must be a number" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    Select(browser.find_element(By.ID, "page_size")).select_by_value("10")
    browser.find_element(By.ID, "min").clear()
    browser.find_element(By.ID, "trait").find_element(By.CSS_SELECTOR, "option[value='']").click()
    browser.find_element(By.ID, "q").send_keys("iraz")
    _click_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, ".search-form button[type=submit]")
    )
    assert "2 accessions" in browser.find_element(By.ID, "results-heading").text
