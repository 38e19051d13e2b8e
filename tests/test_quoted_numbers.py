"""Numbers quoted in the chapters' prose come from the notebooks, not from a past run.

A measured number written into the markdown of a chapter drifts as soon as the code, a library
or the machine changes (issue 28 found "1.59, 1.72, 1.92" where a fresh run printed 1.594, 1.752,
1.889). So a chapter quotes its measurements through myst-nb's ``glue`` (``glue("key", value,
display=False)`` in a code cell, ``{glue:text}`key:.2f``` in the text) or states a range that an
assert checks. This test is static (nothing is executed; it takes well under a second) and is a
heuristic: it scans the markdown cells of every ``book/*.ipynb`` and flags

- a number with three or more significant digits (``1.59`` -> 3, ``0.039`` -> 2, ``44,426`` -> 5,
  ``4,000`` -> 1: trailing zeros of an integer do not count), and
- a percentage with a decimal point (``95.9 %``),

that is not a glue reference and not allowed below. It also checks that every ``{glue:...}``
reference of a chapter names a key that the same notebook glues (a typo would only show up in
``make book``). Two-digit numbers ("about 60 %") are not flagged: they are rounded on purpose, and
the chapters back them with asserts.

Not scanned, because they are not measurements: math (``$...$``, ``$$...$$``: equation
constants and worked examples that the text derives), inline code and fenced code, MyST roles
(``{cite}``, ``{doc}``, ``{glue:text}``...), labels and link targets.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"

# Allowed everywhere, with the reason. Keep this list short: a measured number belongs in glue.
# - years (1900-2099): "won the ImageNet challenge of 2012", citations in words;
# - a number that also appears as a literal in one of the notebook's own code cells is a
#   setting the text repeats (a batch of 256, 784 pixels, 44,426 weights asserted exactly as
#   44_426), not a measurement: see `_code_literals`;
# - the explicit values below, each exact by construction rather than measured.
ALLOWED = {
    "255": "the negatives in a batch of 256 (energy-based-models): 256 - 1",
    "399": "10 % of each class of MNIST-5k's 4,000 training digits, rounded (energy-based-models)",
    "144": "the 12 x 12 = 144 dictionary atoms (sparse-coding), a setting written as 12 * 12",
    "784": "the 28 x 28 = 784 pixels of an MNIST digit",
}

# TEMPORARY: chapters being written by other sessions at the time this test was added (issue 28).
# They are exempt until their authors glue or allow their numbers; an exempt chapter that passes
# passes (nothing to skip), and its entry can then be removed.
TEMPORARILY_EXEMPT: dict[str, str] = {}

MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
MATH_INLINE = re.compile(r"\$(?!\$)[^$]+?\$", re.S)
FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
CODE = re.compile(r"`[^`\n]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)|^\([\w-]+\)=$|:label:.*$", re.M)
# a number: 1,234,567 | 1234 | 12.5 ; not part of a word, an identifier or a dotted version
NUMBER = re.compile(r"(?<![\w.,/-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?!\.?\w)(\s*%)?")
GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([\w-]+)")
# a glue role's content is a key and an optional format spec: a brace or a line break means the
# role was closed with the wrong character (`key:.0f}` swallows the text up to the next backtick)
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]*)`")
GLUE_ROLE_OK = re.compile(r"[\w-]+(:[^\s{}`]*)?")
GLUE_DEF = re.compile(r"""\bglue\(\s*f?["']([^"']+)["']""")


def significant_digits(token: str) -> int:
    """Significant digits of a number as written: '1.594' -> 4, '0.039' -> 2, '4,000' -> 1."""
    digits = token.replace(",", "")
    if "." in digits:
        return len(digits.replace(".", "").lstrip("0"))
    return len(digits.strip("0")) or 1


def prose(markdown: str) -> str:
    """The markdown with math, code, roles, labels and link targets blanked out."""
    for pattern in (FENCED, MATH_BLOCK, MATH_INLINE, ROLE, CODE, LINK_TARGET):
        markdown = pattern.sub(" ", markdown)
    return markdown


def _code_literals(nb) -> set[str]:
    """Every number written in the notebook's code cells, normalised (no '_' or ',')."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            found.update(m.replace("_", "") for m in re.findall(r"\d[\d_]*(?:\.\d+)?", cell.source))
    return found


def quoted_numbers(nb) -> list[str]:
    """The suspicious numbers of a notebook's prose, as 'cell N: number | context'."""
    literals = _code_literals(nb)
    hits = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        text = prose(cell.source)
        for m in NUMBER.finditer(text):
            token, percent = m.group(1), m.group(2)
            if not (significant_digits(token) >= 3 or (percent and "." in token)):
                continue
            plain = token.replace(",", "")
            if plain in ALLOWED or plain in literals:
                continue
            if "." not in plain and 1900 <= int(plain) <= 2099:
                continue  # a year
            context = " ".join(text[max(0, m.start() - 40) : m.end() + 20].split())
            hits.append(f"cell {i}: {token}{(percent or '').strip()} | ...{context}...")
    return hits


def missing_glue(nb) -> list[str]:
    """Glue keys referenced in the markdown that no code cell of the notebook defines."""
    defined = {k for c in nb.cells if c.cell_type == "code" for k in GLUE_DEF.findall(c.source)}
    # an f-string key (glue(f"loss_{n}", ...) in a loop) matches any value of its fields
    patterns = [
        re.compile(re.sub(r"\\\{[^}]*\\\}", r"[\\w-]+", re.escape(k)) + "$") for k in defined
    ]
    used = {k for c in nb.cells if c.cell_type == "markdown" for k in GLUE_REF.findall(c.source)}
    return sorted(k for k in used if not any(p.match(k) for p in patterns))


def malformed_glue_roles(nb) -> list[str]:
    """Glue roles whose content is not ``key`` or ``key:format``, as 'cell N: content'."""
    return [
        f"cell {i}: {content[:60]!r}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown"
        for content in GLUE_ROLE.findall(c.source)
        if not GLUE_ROLE_OK.fullmatch(content)
    ]


CHAPTERS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_quotes_no_unglued_number(path):
    nb = nbformat.read(path, as_version=4)
    hits = quoted_numbers(nb)
    if hits and path.stem in TEMPORARILY_EXEMPT:
        pytest.skip(f"temporarily exempt: {TEMPORARILY_EXEMPT[path.stem]}")
    assert not hits, (
        f"{path.name} quotes numbers that are neither glued nor allowed (glue them with "
        "myst_nb.glue, or state a range that an assert checks):\n  " + "\n  ".join(hits)
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_glue_references_are_defined(path):
    nb = nbformat.read(path, as_version=4)
    assert not missing_glue(nb), f"{path.name}: glue keys used but never glued: {missing_glue(nb)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_glue_roles_are_well_formed(path):
    nb = nbformat.read(path, as_version=4)
    bad = malformed_glue_roles(nb)
    assert not bad, f"{path.name}: glue roles not closed by a backtick after key:format: {bad}"


def test_a_glue_role_closed_by_a_brace_is_caught():
    """The autoencoders chapter had `gain:.0f} % lower`: the role ran on to the next backtick."""
    broken = "{glue:text}`gain:.0f} % lower, and {glue:text}`err:.3f` on the test set."
    assert len(malformed_glue_roles(_synthetic(broken))) == 1
    assert malformed_glue_roles(_synthetic("{glue:text}`gain:.0f` % and {glue:}`n`")) == []


def _synthetic(markdown: str, code: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_markdown_cell(markdown)]
    return nb


def test_the_check_fails_on_a_quoted_measurement():
    """The drift of issue 28, as a chapter would have it, is caught; its glued form passes."""
    quoted = "The plain networks get worse (1.59 with 3 blocks, 1.72 with 6, 1.92 with 12)."
    assert len(quoted_numbers(_synthetic(quoted))) == 3
    assert quoted_numbers(_synthetic("Accuracy 95.9 % after four epochs."))  # decimal percentage
    assert quoted_numbers(_synthetic("highest on noise images (242), never seen"))
    glued = (
        "The plain networks get worse ({glue:text}`loss_3:.2f` with 3 blocks, "
        "{glue:text}`loss_6:.2f` with 6)."
    )
    code = 'glue("loss_3", 1.594, display=False)\nglue("loss_6", 1.752, display=False)'
    assert quoted_numbers(_synthetic(glued, code)) == []
    assert missing_glue(_synthetic(glued, code)) == []
    assert missing_glue(_synthetic(glued, 'glue("loss_3", 1.594)')) == ["loss_6"]
    in_a_loop = 'for n in (3, 6):\n    glue(f"loss_{n}", 1.6, display=False)'
    assert missing_glue(_synthetic(glued, in_a_loop)) == []


def test_the_check_fails_when_a_real_chapter_is_edited():
    """Take a chapter that passes, write a measured number into its prose: the check fails."""
    path = BOOK / "convolutions.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert quoted_numbers(nb) == []
    cell = next(c for c in nb.cells if "{glue:text}`cnn_loss_plain_3:.2f`" in c.source)
    cell.source = cell.source.replace("{glue:text}`cnn_loss_plain_3:.2f`", "1.59")
    assert [h.split(" | ")[0].split(": ")[1] for h in quoted_numbers(nb)] == ["1.59"]


def test_what_is_not_flagged():
    """Rounded numbers, settings, years, math and code are left alone."""
    text = (
        "About 60 % of 1,000 digits, 4,000 training digits, a batch of 256, in 2012; "
        "$\\lVert w\\rVert_1 = 6.35$ and `lr=1.25e-3`, {cite}`he2016deep`, 0.039 and 0.84."
    )
    assert quoted_numbers(_synthetic(text, "batch_size = 256")) == []
    assert significant_digits("0.039") == 2 and significant_digits("44,426") == 5
    assert significant_digits("4,000") == 1 and significant_digits("1.50") == 3
