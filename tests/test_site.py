"""The built site, driven in headless Chromium: what a reader sees.

``make test`` builds the site into ``_build/html`` first (``make site``); this
module serves that folder over HTTP and visits every page once with Debian's
``chromium`` through Selenium. It checks console errors, images, internal links
and anchors, glued numbers, collapsed code inputs, code and outputs that fit
the column, numbered figures, the notebook download, and the search page.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import re
import shutil
import threading
import urllib.parse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SITE = pathlib.Path(os.environ.get("LTHLIB_SITE", pathlib.Path(__file__).parents[1] / "_build" / "html"))
CHAPTERS = ("book/foundations.html", "book/lottery-ticket.html")
WINDOW = (1280, 1000)


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip(
            "no chromium/chromedriver on PATH: install Debian's chromium and chromium-driver "
            "(make test does when it runs as root with apt-get)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make book` or `make site` first (make test does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


# What the browser reports of one page, gathered in one script so each page is visited once.
_INSPECT = """
const visible = el => el.checkVisibility();  // false inside a closed <details>
return {
  images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  pasted: Array.from(document.querySelectorAll('.pasted-text')).map(e => e.textContent),
  text: document.body.innerText,
  openInputs: Array.from(document.querySelectorAll('details.hide.above-input')).filter(d => d.open).length,
  hiddenInputs: document.querySelectorAll('details.hide.above-input').length,
  overflowing: Array.from(document.querySelectorAll('.cell_input pre, .cell_output pre, .cell_output table'))
    .filter(e => visible(e) && e.scrollWidth > (e.tagName === 'TABLE' ? e.closest('.cell_output') : e).clientWidth + 1)
    .map(e => e.textContent.slice(0, 80)),
  fitChecked: Array.from(document.querySelectorAll('.cell_input pre, .cell_output pre, .cell_output table'))
    .filter(visible).length,
  captions: Array.from(document.querySelectorAll('figure figcaption')).map(e => e.innerText),
  indexColumns: Array.from(document.querySelectorAll('.cell_output table tbody th')).length,
};
"""


@pytest.fixture(scope="module")
def pages(server, browser):
    """Every HTML page of the site: path → what the browser saw, with the console messages."""
    seen = {}
    for path in sorted(SITE.rglob("*.html")):
        relative = path.relative_to(SITE).as_posix()
        if relative.startswith(("_static/", "_sources/")) or 'http-equiv="Refresh"' in path.read_text()[:200]:
            continue  # assets, and the root's one-line redirect (its target is visited itself)
        browser.get(server + relative)
        info = browser.execute_script(_INSPECT)
        info["console"] = browser.get_log("browser")
        seen[relative] = info
    return seen


def test_the_site_has_its_chapters(pages):
    assert set(CHAPTERS) <= set(pages), sorted(pages)
    assert 'url=book/intro.html"' in (SITE / "index.html").read_text()  # the root redirects to the intro


def test_no_page_logs_a_console_error(pages):
    errors = {
        path: [entry["message"] for entry in info["console"] if entry["level"] == "SEVERE"]
        for path, info in pages.items()
    }
    assert not {path: messages for path, messages in errors.items() if messages}


def test_every_image_loads(pages):
    broken = {path: [i["src"] for i in info["images"] if not i["ok"]] for path, info in pages.items()}
    assert not {path: images for path, images in broken.items() if images}
    for chapter in CHAPTERS:
        assert len(pages[chapter]["images"]) >= 2, chapter


def test_every_internal_link_and_anchor_resolves(server, pages):
    missing = []
    for path, info in pages.items():
        for link in info["links"]:
            if not link.startswith(server):
                continue
            url = urllib.parse.urlsplit(link[len(server) :])
            target = url.path or path
            if not (SITE / target).is_file():
                missing.append(f"{path}: {link} (no such file)")
            elif url.fragment and target.endswith(".html"):
                ids = pages.get(target, {}).get("ids", [])
                if urllib.parse.unquote(url.fragment) not in ids:
                    missing.append(f"{path}: {link} (no such anchor)")
    assert not missing


def test_glued_numbers_are_present(pages):
    for chapter in CHAPTERS:
        pasted = pages[chapter]["pasted"]
        assert pasted, f"{chapter} shows no glued value"
        assert all(text.strip() for text in pasted), chapter
        assert sum(bool(re.search(r"\d", text)) for text in pasted) >= len(pasted) // 2, pasted
        assert "{glue" not in pages[chapter]["text"], chapter


def test_code_inputs_are_collapsed(pages):
    for chapter in CHAPTERS:
        assert pages[chapter]["hiddenInputs"] > 0, chapter
        assert pages[chapter]["openInputs"] == 0, chapter


def test_no_visible_code_or_output_is_cut_off_at_the_column_edge(pages):
    for chapter in CHAPTERS:
        assert pages[chapter]["fitChecked"] >= 3, f"{chapter}: too few visible code blocks or outputs were checked"
    assert not {path: info["overflowing"] for path, info in pages.items() if info["overflowing"]}


def test_tables_have_no_pandas_index(pages):
    assert not {path: info["indexColumns"] for path, info in pages.items() if info["indexColumns"]}


def test_figures_are_numbered_and_captioned(pages):
    captions = pages["book/lottery-ticket.html"]["captions"]
    assert captions, "the Lottery Ticket chapter has no captioned figure"
    assert all(re.match(r"Fig\. \d+", caption) for caption in captions), captions


def test_each_chapter_offers_its_notebook_and_the_command_to_rerun_it(server, pages):
    for chapter in CHAPTERS:
        name = pathlib.PurePosixPath(chapter).stem
        notebook = f"{server}_sources/book/{name}.ipynb"
        assert notebook in pages[chapter]["links"], f"{chapter} does not link its notebook"
        assert (SITE / "_sources" / "book" / f"{name}.ipynb").is_file()
        assert f"CHAPTER={name}" in pages[chapter]["text"], f"{chapter} does not say how to re-execute it"


def test_search_finds_a_chapter(server, browser):
    browser.get(server + "search.html?q=pruning")
    results = WebDriverWait(browser, 30).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "#search-results li a") or False
    )
    assert any("lottery-ticket" in result.get_attribute("href") for result in results)
