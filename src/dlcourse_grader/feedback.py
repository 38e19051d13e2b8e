"""Feedback for students: one HTML page per submission, written from the grading record.

The page states the status and score, why a submission could not be graded or what went wrong
while grading it, and a table of the tests with their messages; then the graded notebook (the
student's cells with their output, the tests as the student may see them). Hidden tests never
appear: the grader removed their code and their output before storing the notebook, and their
failures only say that a hidden test failed.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat

from .submission import clean_text

__all__ = ["render_feedback", "write_feedback"]

NOTE_NO_NOTEBOOK = (
    "The graded notebook cannot be shown ({why}); the score and the test results above are "
    "complete."
)


def _summary(result) -> str:
    score = (
        f"{result.score:g} / {result.max_score:g}"
        if result.score is not None and result.max_score is not None
        else "-"
    )
    pending = result.pending_points
    if pending and result.status == "graded":
        score += f" ({pending:g} points still to be graded by hand)"
    parts = [
        f"<h1>Feedback: {html.escape(result.assignment)}</h1>",
        f"<p><b>Student:</b> {html.escape(result.student)}<br>",
        f"<b>Status:</b> {html.escape(result.status)}<br>",
        f"<b>Score:</b> {html.escape(score)}</p>",
    ]
    if result.reason and (result.status == "ungradable" or not result.events):
        label = "Why it could not be graded" if result.status == "ungradable" else "Problems"
        parts.append(f"<p><b>{label}:</b> {html.escape(result.reason)}</p>")
    if result.events:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in result.events)
        parts.append(f"<p><b>While grading:</b></p><ul>{items}</ul>")
    if result.tests:
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{:g} / {:g}</td><td>{}</td></tr>".format(
                html.escape(str(t.get("grade_id"))),
                "passed" if t.get("passed") else "failed",
                float(t.get("points", 0)),
                float(t.get("max_points", 0)),
                html.escape(str(t.get("message", ""))),
            )
            for t in result.tests
        )
        parts.append(
            "<table><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr>"
            f"{rows}</table>"
        )
    if result.manual and result.status == "graded":
        parts.append(_written(result.manual))
    return "\n".join(parts)


def _written(manual: list[dict]) -> str:
    """The hand-graded answers: points and the grader's comment, or still to be graded."""
    rows = []
    for m in manual:
        if m.get("to_grade"):
            points = f"- / {float(m['max_points']):g}"
            state = "to be graded by hand"
        else:
            points = f"{float(m.get('points') or 0):g} / {float(m['max_points']):g}"
            state = "graded by hand" if m.get("by_hand") else "not answered"
        rows.append(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(str(m["grade_id"])),
                state,
                points,
                html.escape(str(m.get("comment") or "")),
            )
        )
    return (
        "<p><b>Written answers:</b></p><table><tr><th>answer</th><th>result</th>"
        f"<th>points</th><th>grader's comment</th></tr>{''.join(rows)}</table>"
    )


def _page(summary: str, note: str = "") -> str:
    extra = f"<p><i>{html.escape(note)}</i></p>" if note else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head>"
        f"<body>{summary}{extra}</body></html>"
    )


def _plain_output(out) -> nbformat.NotebookNode | None:
    """A valid copy of a stream or error output (others are dropped)."""
    kind = out.get("output_type") if isinstance(out, dict) else None
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=clean_text(out.get("text", "")))
    if kind == "error":
        tb = out.get("traceback")
        return nbformat.v4.new_output(
            "error",
            ename=clean_text(out.get("ename", "")),
            evalue=clean_text(out.get("evalue", "")),
            traceback=[clean_text(t) for t in tb] if isinstance(tb, list) else [],
        )
    return None


def _rebuilt(notebook) -> nbformat.NotebookNode:
    """The cells' sources and plain outputs in a new, valid notebook (metadata dropped)."""
    nb = nbformat.v4.new_notebook()
    for cell in notebook.get("cells", []):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        source = cell.get("source", "") if kind else ""
        source = clean_text("".join(map(str, source)) if isinstance(source, list) else source)
        if kind == "code":
            new = nbformat.v4.new_code_cell(source)
            outs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            new.outputs = [o for o in map(_plain_output, outs) if o is not None]
        elif kind == "markdown":
            new = nbformat.v4.new_markdown_cell(source)
        elif kind == "raw":
            new = nbformat.v4.new_raw_cell(source)
        else:
            continue
        nb.cells.append(new)
    return nb


def _export(summary: str, notebook) -> str:
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(metadata=notebook.get("metadata", {}))
    head = nbformat.v4.new_markdown_cell(summary)
    head["id"] = "feedback-summary"  # not a random id: the same grade gives the same page
    nb.cells = [head, *notebook.cells]
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    return body


def render_feedback(result, notebook: nbformat.NotebookNode | None, note: str = "") -> str:
    """The feedback page of one submission as an HTML document.

    Never raises for a bad notebook: one that nbformat or nbconvert refuses is rebuilt from its
    cells' sources and plain outputs; if that fails too, the page has the summary and a note.
    """
    summary = _summary(result)
    if notebook is None:
        return clean_text(_page(summary, note))
    try:
        return clean_text(_export(summary, notebook))
    except Exception as exc:  # noqa: BLE001 - a graded notebook nbformat or nbconvert refuses
        first = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    try:
        return clean_text(_export(summary, _rebuilt(notebook)))
    except Exception:  # noqa: BLE001
        return clean_text(_page(summary, NOTE_NO_NOTEBOOK.format(why=first)))


def write_feedback(course, result) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for one result, one page per
    notebook of the assignment (each with the whole submission's summary), whatever the graded
    notebooks hold."""
    out = course.root / "feedback" / result.student / result.assignment
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for nb_name in course.notebook_names(result.assignment):
        graded = course.root / "autograded" / result.student / result.assignment / nb_name
        notebook, note = None, ""
        if result.status == "graded" and graded.is_file():
            try:
                text = graded.read_bytes().decode("utf-8", errors="replace")
                notebook = nbformat.reads(text, as_version=4)
            except Exception as exc:  # noqa: BLE001 - an unreadable graded notebook
                note = NOTE_NO_NOTEBOOK.format(why=f"{type(exc).__name__}: {str(exc)[:200]}")
        path = out / (Path(nb_name).stem + ".html")
        path.write_text(render_feedback(result, notebook, note), encoding="utf-8", errors="replace")
        pages.append(path)
    return pages
