"""The breeder's journey through the portal in a real headless Chromium, one page after another.

A breeder (``bea``) logs in through the form, searches germplasm, opens a
crossbred accession (pedigree drawing and GEBVs), ranks the run's candidates
for grain yield, weighs grain yield against days to heading in a selection
index, ticks two candidates into a new selection list, compares them side by
side with their kinship, plans crosses among them and downloads the plan; a
bioinformatician (``bio``) then starts a model run from the runs page and
watches its job finish under a Huey worker running in this process; both
log out through the header's button.

Each main page is saved as ``portal-<page>.png`` in the test's directory,
and into ``docs/`` when ``BREEDHUB_SCREENSHOTS=docs`` (``scripts/screenshots.py``).
The data is a real small programme (:mod:`tests.web._journey_data`). On SQLite and
PostgreSQL, like ``test_browser.py``, whose Chromium and server fixtures it reuses.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from breedhub.web import create_app
from breedhub.web.db import get_engine
from tests.web import test_browser
from tests.web._journey_data import DATASET, RUN_NAME, Journey, setup_programme

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True),
]

#: Chromium and the app's server, the fixtures of test_browser.py
browser, server = test_browser.browser, test_browser.server

DOCS = Path(__file__).resolve().parents[2] / "docs"
TRAIT = "GrainYield_t_ha"
SECOND_TRAIT = "DaysToHeading_d"  # lower is better


@pytest.fixture
def programme(home, engine, registry, variables) -> Journey:
    """The journey's data in ``home``'s database (see :mod:`tests.web._journey_data`)."""
    return setup_programme(home, engine, registry, variables)


@pytest.fixture
def app(db_url, home, programme):
    """The portal on the programme's database, with ``home`` as its data directory (its queue)."""
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "BREEDHUB_HOME": str(home),
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    get_engine(app).dispose()


@pytest.fixture
def worker(home, db_url):
    """A Huey consumer (one thread) running the jobs of ``home``'s queue in this process."""
    from breedhub.base.config import Settings
    from breedhub.pipelines.queue import make_consumer

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = make_consumer(Settings(home=home, database_url=db_url), workers=1)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():  # start() installed the consumer's handlers
            signal.signal(sig, handler)


class Pages:
    """The browser with the journey's helpers: go, click and wait, save a screenshot."""

    def __init__(self, driver, base: str, out: Path) -> None:
        self.b, self.base, self.out = driver, base, out
        self.to_docs = os.environ.get("BREEDHUB_SCREENSHOTS", "") == "docs"

    def get(self, path: str) -> None:
        self.b.get(self.base + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.b.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.b.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def click(self, element) -> None:
        """Click ``element`` and wait for the next page to replace this one."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.find("html")
        element.click()

        def gone(_driver) -> bool:
            try:
                page.is_enabled()
            except WebDriverException:  # stale, or "does not belong to the document" mid-load
                return True
            return False

        WebDriverWait(self.b, 30).until(gone)

    def submit(self, form_css: str, button_text: str | None = None) -> None:
        """Click the submit button of the form ``form_css`` (its first, or the one saying so)."""
        buttons = self.find(form_css).find_elements("css selector", "button[type=submit]")
        chosen = [b for b in buttons if button_text is None or b.text.strip() == button_text]
        assert chosen, f"no button {button_text!r} in {form_css}"
        self.click(chosen[0])

    def fill(self, css: str, value: str) -> None:
        box = self.find(css)
        box.clear()
        box.send_keys(value)

    def shot(self, name: str, anchor: str | None = None) -> Path:
        """Save the viewport (1280 wide) as ``portal-<name>.png``; into docs/ too when asked.

        ``anchor``: scroll the element it selects to the top first (a page's result, not its form).
        """
        if anchor:
            self.b.execute_script("arguments[0].scrollIntoView(true);", self.find(anchor))
        path = self.out / f"portal-{name}.png"
        self.b.save_screenshot(str(path))
        assert path.stat().st_size > 1000
        if self.to_docs:
            shutil.copyfile(path, DOCS / path.name)
        return path

    def body(self) -> str:
        return self.text("body")

    def built(self, what: str) -> None:
        """Skip the rest of the journey if this page is not built yet: a placeholder, or no route.

        A 404 of a route that exists (an abort with a message) is a failure, not a skip.
        """
        main = self.text("main")
        if "Not built yet" in main:
            pytest.skip(f"{what} ({self.b.current_url}) is still a placeholder page")
        if "Error 404" in main and "There is no page at this address" in main:
            pytest.skip(f"{what} ({self.b.current_url}) has no route yet")

    def log_in(self, username: str) -> None:
        self.get("/login")
        self.fill("#username", username)
        self.fill("#password", f"pw-{username}")
        self.submit("main form")
        assert username in self.text(".account .who")

    def log_out(self) -> None:
        self.submit(".account form")
        assert "Log in" in self.text(".account")


def column(pages: Pages, table_css: str, index: int) -> list[str]:
    """The text of column ``index`` (0-based) of every body row of a table."""
    return [
        r.find_elements("css selector", "td")[index].text
        for r in pages.find_all(f"{table_css} tbody tr")
    ]


def index_top(pages: Pages, weights: dict[str, str], n: int = 10) -> list[str]:
    """Compute the selection index with ``weights`` (others empty); the top ``n`` accessions."""
    form = "form.search-form[action$='/predictions/index']"  # not the save form's hidden copy
    for box in pages.find_all(f"{form} input[name^='weight.']"):
        box.clear()
    for trait, w in weights.items():
        pages.fill(f"{form} input[name='weight.{trait}']", w)
    pages.submit(form)
    assert "This index cannot be computed" not in pages.body()
    # column 0 holds the tick boxes (the breeder is logged in), 1 the rank, 2 the accession
    accessions = column(pages, "#index-table", 2)
    assert len(accessions) >= n
    assert column(pages, "#index-table", 1)[:3] == ["1", "2", "3"]
    return accessions[:n]


def test_journey__breeder_from_login_to_crosses_then_a_model_run(  # noqa: PLR0915
    programme,
    server,
    browser,
    worker,
    tmp_path,
):
    import requests
    from selenium.webdriver.support.ui import Select

    pages = Pages(browser, server, tmp_path)
    n = programme.n_genotyped

    # Home, anonymous; then the login form
    pages.get("/")
    assert "breedhub" in browser.title
    pages.shot("home")
    pages.get("/login")
    pages.shot("login")
    pages.fill("#username", "bea")
    pages.fill("#password", "wrong password")
    pages.submit("main form")
    assert "/login" in browser.current_url and "Log in" in pages.text(".account")
    pages.log_in("bea")
    assert "breeder · PHL001" in pages.text(".account .who")

    # Search germplasm from the header's box: one hit, the crossbred accession
    box = pages.find("#header-q")
    box.send_keys(programme.crossbred)
    pages.submit("form.header-search")
    assert "/germplasm?" in browser.current_url
    assert "1 accession" in pages.text("#results-heading")
    rows = pages.find_all("table.data tbody tr")
    assert len(rows) == 1 and programme.crossbred in rows[0].text
    pages.shot("search")

    # The accession: its pedigree drawn (Graphviz SVG, or the table without dot) and its GEBVs
    pages.click(rows[0].find_element("link text", programme.crossbred))
    assert programme.crossbred in pages.text("h1")
    assert "Female parent" in pages.text("#pedigree") and "unknown" not in pages.text(
        "#pedigree dl"
    )
    if shutil.which("dot"):
        assert pages.find_all("#pedigree-graph svg"), "no pedigree drawing"
    else:
        assert pages.find_all("#pedigree-table table")
    predictions = pages.text("#predictions")
    assert RUN_NAME in predictions and f"of {n}" in predictions
    assert len(pages.find_all("#predictions table.gebvs tbody tr")) == len(programme.traits)
    pages.shot("accession", anchor="#pedigree")

    # Its grain-yield rank links to the ranking of the run and trait: rank 1 of N first
    rank_link = next(
        a
        for a in pages.find_all("#predictions table.gebvs a")
        if f"trait={TRAIT}" in (a.get_attribute("href") or "")
    )
    own_rank = int(rank_link.text.split(" of ")[0])
    pages.click(rank_link)
    pages.built("the predictions ranking")
    assert f"run={programme.run_id}" in browser.current_url
    assert f"{n} candidates" in pages.text(".results-head")
    ranks = column(pages, "#ranking-table", 1)
    assert ranks[0] == f"1 of {n}"
    assert [int(r.split(" of ")[0]) for r in ranks] == sorted(
        int(r.split(" of ")[0]) for r in ranks
    )
    ranking = column(pages, "#ranking-table", 2)
    if own_rank <= len(ranking):
        assert ranking[own_rank - 1] == programme.crossbred
    pages.shot("predictions", anchor="#results-heading")
    ranking_url = browser.current_url

    # Selection index: grain yield alone ranks as the ranking; weighing earliness reorders
    pages.click(next(a for a in pages.find_all("a.button") if a.text == "Selection index"))
    pages.built("the selection index")
    single = index_top(pages, {TRAIT: "1"})
    assert single == ranking[:10]
    both = index_top(pages, {TRAIT: "1", SECOND_TRAIT: "1"})
    assert both != single
    assert "Expected response" in pages.text("#response-heading")
    responses = pages.find_all("#response-table tbody tr")
    assert {r.get_attribute("data-trait") for r in responses} == {TRAIT, SECOND_TRAIT}
    pages.shot("index", anchor="#response-heading")

    # Tick the two best by grain yield into a new selection list
    pages.get(ranking_url.removeprefix(server))
    boxes = pages.find_all("#ranking-table tbody input[type=checkbox]")
    assert boxes, "the ranking has no boxes to tick for a logged-in breeder"
    boxes[0].click()
    boxes[1].click()
    pages.fill("#new-list-name", "Journey parents")
    pages.submit("form:has(#ranking-table)")
    assert "Added 2" in pages.body()

    # The list: both candidates side by side, and their kinship
    pages.get("/lists")
    pages.built("the selection lists")
    pages.click(next(a for a in pages.find_all("main a") if a.text == "Journey parents"))
    pages.built("the selection list page")
    compared = column(pages, "#compare-table", 1)
    assert compared == ranking[:2]
    kinship = pages.find_all("#kinship-table tbody tr")
    assert len(kinship) == 2
    diagonal = [float(r.find_elements("css selector", "td")[i].text) for i, r in enumerate(kinship)]
    assert all(d > 0.5 for d in diagonal)  # an inbred line's self-relationship is near 1 or more
    pages.shot("list")

    # The cross planner from the list: the one pair of two parents, and its CSV download
    pages.click(next(a for a in pages.find_all("a.button") if "Plan crosses" in a.text))
    pages.built("the cross planner")
    assert "Journey parents" in Select(pages.find("#list")).first_selected_option.text
    if not pages.find_all("#plan-heading"):  # the list's link names no species: choose it
        Select(pages.find("#species")).select_by_value("rice")
        pages.submit("#cross-form")
    Select(pages.find("#trait")).select_by_value(TRAIT)  # the ranking's trait
    pages.submit("#cross-form")
    assert pages.find_all("#plan-heading"), pages.text("main")
    assert "Crossing plan: 1 crosses" in pages.text("#plan-heading")
    plan = pages.find_all("#plan-table tbody tr")
    assert len(plan) == 1
    assert set(ranking[:2]) <= set(re.findall(r"\S+", plan[0].text))
    pages.shot("crosses", anchor="#plan-heading")
    csv_link = next(a for a in pages.find_all("a.button") if a.text == "Download CSV")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    resp = requests.get(csv_link.get_attribute("href"), cookies=cookies, timeout=30)
    assert resp.status_code == 200 and "csv" in resp.headers["Content-Type"]
    assert f"# goal: {TRAIT}" in resp.text
    lines = [ln for ln in resp.text.strip().splitlines() if not ln.startswith("#")]
    assert lines[0].startswith("rank,in_plan,parent1_id,parent1,parent2_id,parent2,")
    assert len(lines) == 2 and all(a in lines[1] for a in ranking[:2])
    pages.log_out()

    # A bioinformatician starts a model run; the worker runs it and the job page says so
    pages.log_in("bio")
    pages.get("/runs")
    pages.built("the model runs page")
    assert RUN_NAME in pages.text("main")
    form = "form[action$='/runs/new']"
    Select(pages.find(f"{form} #dataset")).select_by_value(DATASET)
    Select(pages.find(f"{form} #method")).select_by_value("gblup")
    pages.fill(f"{form} #trait", TRAIT)
    pages.fill(f"{form} #name", "journey re-fit")
    pages.shot("runs", anchor=form)
    pages.submit(form)
    assert re.search(r"/jobs/\d+$", browser.current_url)
    pages.built("the job page")
    deadline = time.monotonic() + 120
    while pages.text("#job-state").split()[0] in ("queued", "running"):
        assert time.monotonic() < deadline, "the job did not finish in 120 s"
        time.sleep(1)
        pages.get(browser.current_url.removeprefix(server))
    assert pages.text("#job-state") == "done", pages.text("main")
    pages.shot("job")
    pages.click(pages.find("#job-result"))
    assert "journey re-fit" in pages.text("h1")
    assert "grain yield" in pages.text("main").lower()  # the one trait fitted
    pages.log_out()
    assert "Log in" in pages.text(".account")
