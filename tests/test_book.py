"""Build the book once and look at every chapter page in headless Chromium, offline.

The build is the one execution of the book's notebooks in `make test` (nbval runs only the
assignments): the chapters execute in parallel, one per core (book/_ext/parallel_execution.py),
into the jupyter-cache that MyST-NB and `make book` then reuse, and a failing cell, such as a
claim whose `assert` no longer holds, fails the build. The failure names the notebook and shows
the cell.

On every chapter page the checks are what a reader would see: math typeset by the bundled
MathJax (no raw TeX left), every figure loaded, exercise and solution boxes, a widget rendered
from vendored JavaScript, no console errors, and no request leaving the local server. A
screenshot of each page is kept in tests/artifacts/. One page of the API reference (generated
from the docstrings by autodoc) is checked the same way: its math typeset, its objects
documented, the general index filled, and every chapter linking to its API page.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, need_system_package

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HTML = ROOT / "book" / "_build" / "html"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def chapters() -> list[str]:
    """The chapter notebooks listed in book/_toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [f for f in files if (ROOT / "book" / f"{f}.ipynb").is_file()]


CHAPTERS = chapters()


def explain_failure(log: str) -> str:
    """Pull the failing notebook and cell out of a jupyter-book log (the rest is noise)."""
    log = ANSI.sub("", log)
    notebooks = re.findall(r"(\S+\.ipynb(?::\d+)?): WARNING: Executing notebook failed", log)
    cell = re.search(
        r"An error occurred while executing the following cell:\n-+\n(.*?)\n-+\n(.*?)(?:\n\n|$)",
        log,
        re.S,
    )
    if not notebooks:
        return log[-6000:]
    where = ", ".join(
        re.sub(
            r":(\d+)$",
            r" (cell \1)",
            str(Path(n).relative_to(ROOT)) if n.startswith(str(ROOT)) else n,
        )
        for n in notebooks
    )
    text = f"executing {where} failed"
    if cell:
        text += f" in the cell:\n{cell.group(1)}\n"
        after = log[cell.end(1) :].splitlines()
        errors = [line for line in after if re.match(r"^[\w.]*(Error|Exception)\w*:", line)]
        if errors:
            text += "\n" + errors[0]
    return text


@pytest.fixture(scope="module")
def built_book() -> Path:
    """Build the book the way `make book` does (sharing its execution cache)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT / "book"), "--warningiserror", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.fail("the book did not build: " + explain_failure(proc.stdout + proc.stderr))
    return HTML


def test_the_book_builds_and_every_chapter_executes(built_book):
    assert CHAPTERS, "book/_toc.yml lists no chapter notebook"
    for chapter in CHAPTERS:
        assert (built_book / f"{chapter}.html").is_file(), f"the build made no {chapter}.html"


def test_failures_name_the_notebook_and_cell():
    """The message a contributor sees when a chapter's claim stops holding."""
    log = (
        "\x1b[91m/x/book/conv.ipynb: WARNING: Executing notebook failed: CellExecutionError\n"
        "nbclient.exceptions.CellExecutionError: An error occurred while executing the "
        "following cell:\n------------------\nassert gap < 1e-6, 'conv is not equivariant'\n"
        "------------------\n\x1b[31mAssertionError\x1b[39m: conv is not equivariant\n\n"
    )
    text = explain_failure(log)
    assert "/x/book/conv.ipynb" in text
    assert "assert gap < 1e-6" in text
    assert "AssertionError: conv is not equivariant" in text
    # as book/_ext/parallel_execution.py reports it: with the failing cell's index
    text = explain_failure(log.replace("conv.ipynb:", "conv.ipynb:7:"))
    assert "/x/book/conv.ipynb (cell 7)" in text
    assert "AssertionError: conv is not equivariant" in text


@pytest.fixture(scope="module")
def server(built_book):
    """Serve the built site on a loopback port (as a reader's static host would)."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    need_system_package(["chromium", "chromedriver"], ["chromium", "chromium-driver"])
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager must never try to download a browser.
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=CHAPTERS)
def page(request, browser, server, artifacts_dir):
    from selenium.webdriver.support.ui import WebDriverWait

    chapter = request.param
    browser.get_log("browser")  # drop earlier pages' console entries: only this page's count
    browser.get(f"{server}/{chapter}.html")
    wait = WebDriverWait(browser, 30)
    # MathJax 3 resolves this promise once the page is typeset.
    wait.until(
        lambda d: d.execute_script(
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise);"
        )
    )
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "MathJax.startup.promise.then(() => done(true), () => done(false));"
    )
    wait.until(
        lambda d: d.execute_script(
            "return document.querySelectorAll('.jupyter-widgets, .widget-slider').length > 0;"
        )
    )
    height = browser.execute_script("return document.body.scrollHeight;")
    browser.set_window_size(1400, min(int(height), 16000))
    browser.save_screenshot(str(artifacts_dir / f"{chapter}.png"))
    return browser


def test_math_is_typeset_with_no_raw_tex_left(page):
    n = page.execute_script("return document.querySelectorAll('mjx-container').length;")
    assert n > 20, f"only {n} MathJax-rendered elements on the page"
    # Text outside code cells must not show TeX delimiters (they vanish once typeset).
    text = page.execute_script("""
        const main = document.querySelector('main') || document.body;
        const clone = main.cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, mjx-container, .cell_input')
             .forEach(e => e.remove());
        return clone.innerText;""")
    for raw in ["$$", "\\[", "\\begin{", "\\frac"]:
        assert raw not in text, f"raw TeX {raw!r} left in the rendered page"


def test_every_figure_loads(page):
    images = page.execute_script("""
        return Array.from(document.querySelectorAll('main img')).map(
            i => [i.src.slice(0, 80), i.complete && i.naturalWidth > 0]);""")
    assert len(images) >= 4, f"expected the chapter's figures, found {len(images)} images"
    broken = [src for src, ok in images if not ok]
    assert not broken, f"images that did not load: {broken}"


def test_exercises_and_solutions_are_there(page):
    n_ex = page.execute_script("return document.querySelectorAll('.exercise').length;")
    n_sol = page.execute_script("return document.querySelectorAll('.solution').length;")
    assert n_ex >= 3, f"found {n_ex} exercise boxes"
    assert n_sol >= 3, f"found {n_sol} solution boxes"


def test_widget_renders_from_vendored_js(page):
    sliders = page.execute_script(
        "return document.querySelectorAll('.widget-slider, .jupyter-widgets .slider').length;"
    )
    assert sliders >= 1, "the widget did not render (no slider in the page)"


def test_no_request_leaves_the_site(page, server):
    urls = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    outside = [u for u in urls if not u.startswith(server) and not u.startswith("data:")]
    assert not outside, f"the page fetched from outside the site (would fail offline): {outside}"


def test_console_shows_no_errors(page):
    errors = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, "browser console errors:\n" + "\n".join(e["message"] for e in errors)


# --------------------------------------------------------------------------- API reference
# These tests load their own pages; they come last in the module so that they never run
# between two tests of the chapter page that the module-scoped ``page`` fixture holds.
def _typeset(browser, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise);"
        )
    )
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "MathJax.startup.promise.then(() => done(true), () => done(false));"
    )


def test_api_page_documents_the_engine_with_typeset_math(browser, server, artifacts_dir):
    _typeset(browser, f"{server}/api/autograd.html")
    browser.save_screenshot(str(artifacts_dir / "api-autograd.png"))
    documented = browser.execute_script(
        "return Array.from(document.querySelectorAll('dt.sig[id]')).map(e => e.id);"
    )
    for name in [
        "dlcourse.autograd.tensor.Tensor",
        "dlcourse.autograd.tensor.Tensor.backward",
        "dlcourse.autograd.function.Function",
        "dlcourse.autograd.ops.MatMul",
    ]:
        assert name in documented, f"{name} is not documented on the API page"
    n = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
    assert n > 10, f"only {n} MathJax-rendered elements on the API page"
    text = browser.execute_script("""
        const main = document.querySelector('main') || document.body;
        const clone = main.cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
        return clone.innerText;""")
    for raw in [":math:", "\\(", "\\[", ":class:", ".. math::", "\\partial"]:
        assert raw not in text, f"raw markup {raw!r} left in the rendered API page"


def test_general_index_lists_the_package(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/genindex.html")
    script = "return Array.from(document.querySelectorAll('table.indextable a')).map(a => a.text);"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(script))
    entries = [e.strip() for e in browser.execute_script(script)]
    assert len(entries) > 200, f"the general index has only {len(entries)} entries"
    assert any(e.startswith("Tensor (class in dlcourse.autograd.tensor)") for e in entries)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_links_to_its_api_page(built_book, chapter):
    html = (built_book / f"{chapter}.html").read_text()
    # a {doc} link in the text (the navigation bar links every API page from every page)
    link = r'href="api/\w+\.html"><span class="doc">dlcourse\.\w+</span>'
    assert re.search(link, html), f"{chapter}: its summary does not link to its API page"
