"""Sphinx extension: make the built pages work offline and load each script once.

1. requirejs reads a global ``require`` object as its configuration. We map the module path of
   ``@jupyter-widgets/html-manager`` to our vendored copy, so the widget manager finds its icon
   fonts next to it instead of at the site root (``_static/vendor/README.md``). We also turn
   off requirejs's 7-second load timeout (``waitSeconds: 0``): on a busy machine the 1.5 MB
   widget manager can take longer, and the timeout would leave the widgets blank with a
   console error. The widget manager is a plain script tag, so its anonymous ``define()`` is
   bound by requirejs to whichever module finishes loading next; when that is one of its own
   ``@jupyter-widgets/*`` requests (a race on a busy machine), it computes its font URLs as
   ``<page folder>/@jupyter-widgets/<hash>.woff2``. We copy the fonts there too, so the icons
   load (and the console stays clean) whichever way the race goes.
2. The widget manager typesets widget labels with MathJax 2's ``MathJax.Hub.Queue``; the site
   bundles MathJax 3, which has no ``Hub``. A three-line shim maps it to ``typesetPromise``.
3. pydata-sphinx-theme logs a console error for a first-time visitor (no saved colour mode:
   ``Got invalid theme mode``); we start such a visitor in "auto", which is what it falls back to.
4. Jupyter Book 1.0.4 with Sphinx 7.4 emits some page scripts twice (thebe's configuration and
   MyST-NB's widget scripts); a second copy of ``const THEBE_JS_URL`` is a console error and a
   second widget manager fights the first. We keep the first copy of every script.
"""

from __future__ import annotations

import shutil
from pathlib import Path

WIDGETS_DIR = "_static/vendor/jupyter-widgets"

REQUIRE_CONFIG = (
    "var require = {waitSeconds: 0, paths: {'@jupyter-widgets/html-manager/dist': "
    f"(document.documentElement.dataset.content_root || './') + '{WIDGETS_DIR}'}}}};"
)

MATHJAX2_SHIM = """window.addEventListener('DOMContentLoaded', function () {
  if (window.MathJax && !window.MathJax.Hub && window.MathJax.startup) {
    window.MathJax.Hub = {Queue: function (job) {
      var el = job && job[2];
      MathJax.startup.promise.then(function () {
        return MathJax.typesetPromise(el ? [el] : undefined);
      });
    }};
  }
});"""

THEME_MODE_DEFAULT = (
    "if (!document.documentElement.dataset.mode) document.documentElement.dataset.mode = 'auto';"
)


def _key(script) -> tuple:
    """What makes two script tags the same: source file, inline body, other attributes."""
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", str(script)) or ""
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    # Sphinx renders scripts sorted by priority (a stable sort); keep the first copy in that order.
    for script in sorted(scripts, key=lambda s: getattr(s, "priority", 500)):
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _copy_fonts_for_either_binding(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.outdir) / WIDGETS_DIR
    target = Path(app.outdir) / "@jupyter-widgets"
    fonts = [f for f in source.glob("*") if f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}]
    if fonts:
        target.mkdir(exist_ok=True)
        for font in fonts:
            shutil.copy2(font, target / font.name)


def setup(app):
    app.add_js_file(None, body=REQUIRE_CONFIG, priority=100)
    app.add_js_file(None, body=MATHJAX2_SHIM, priority=100)
    app.add_js_file(None, body=THEME_MODE_DEFAULT, priority=100)
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.connect("build-finished", _copy_fonts_for_either_binding)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
