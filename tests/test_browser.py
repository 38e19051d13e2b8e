"""Build the book and look at the `training` page in headless Chromium, offline.

Checks what a reader would see: math typeset by the bundled MathJax (no raw TeX left), every
figure loaded, exercise and solution boxes, the widget rendered from vendored JavaScript, no
console errors, and no request leaving the local server. Keeps a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import ROOT, need_system_package

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HTML = ROOT / "book" / "_build" / "html"


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
    assert proc.returncode == 0, (
        f"jupyter-book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    )
    assert (HTML / "training.html").is_file(), "the build made no training.html"
    return HTML


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


@pytest.fixture(scope="module")
def training_page(browser, server, artifacts_dir):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/training.html")
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
    browser.save_screenshot(str(artifacts_dir / "training.png"))
    return browser


def test_math_is_typeset_with_no_raw_tex_left(training_page):
    n = training_page.execute_script("return document.querySelectorAll('mjx-container').length;")
    assert n > 20, f"only {n} MathJax-rendered elements on the training page"
    # Text outside code cells must not show TeX delimiters (they vanish once typeset).
    text = training_page.execute_script("""
        const main = document.querySelector('main') || document.body;
        const clone = main.cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, mjx-container, .cell_input')
             .forEach(e => e.remove());
        return clone.innerText;""")
    for raw in ["$$", "\\[", "\\begin{", "\\frac"]:
        assert raw not in text, f"raw TeX {raw!r} left in the rendered page"


def test_every_figure_loads(training_page):
    images = training_page.execute_script("""
        return Array.from(document.querySelectorAll('main img')).map(
            i => [i.src.slice(0, 80), i.complete && i.naturalWidth > 0]);""")
    assert len(images) >= 4, f"expected the chapter's figures, found {len(images)} images"
    broken = [src for src, ok in images if not ok]
    assert not broken, f"images that did not load: {broken}"


def test_exercises_and_solutions_are_there(training_page):
    n_ex = training_page.execute_script("return document.querySelectorAll('.exercise').length;")
    n_sol = training_page.execute_script("return document.querySelectorAll('.solution').length;")
    assert n_ex >= 3, f"found {n_ex} exercise boxes"
    assert n_sol >= 3, f"found {n_sol} solution boxes"


def test_widget_renders_from_vendored_js(training_page):
    sliders = training_page.execute_script(
        "return document.querySelectorAll('.widget-slider, .jupyter-widgets .slider').length;"
    )
    assert sliders >= 1, "the widget did not render (no slider in the page)"


def test_no_request_leaves_the_site(training_page, server):
    urls = training_page.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    outside = [u for u in urls if not u.startswith(server) and not u.startswith("data:")]
    assert not outside, f"the page fetched from outside the site (would fail offline): {outside}"


def test_console_shows_no_errors(training_page):
    errors = [e for e in training_page.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, "browser console errors:\n" + "\n".join(e["message"] for e in errors)
