"""The API reference pages (book/api/) list every sub-package and every public module.

The pages are written by book/api/make_pages.py and committed; a module added without
re-running it would be missing from the book's API reference.
"""

from __future__ import annotations

import importlib.util

import dlcourse

from .conftest import ROOT

API = ROOT / "book" / "api"


def _make_pages():
    spec = importlib.util.spec_from_file_location("make_pages", API / "make_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_sub_package_has_a_page():
    listed = {name for name, _ in _make_pages().PACKAGES}
    public = {n for n in dlcourse.__all__ if not n.startswith("_")} - {"__version__"}
    assert public <= listed, f"no API page for {sorted(public - listed)}: add to make_pages.py"


def test_pages_are_up_to_date():
    make_pages = _make_pages()
    stale = [
        name
        for name, title in make_pages.PACKAGES
        if (API / f"{name}.md").read_text() != make_pages.page(name, title)
    ]
    assert not stale, f"stale API pages {stale}: run .venv/bin/python book/api/make_pages.py"
