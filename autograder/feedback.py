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

__all__ = ["render_feedback", "write_feedback"]


def _summary(result) -> str:
    score = (
        f"{result.score:g} / {result.max_score:g}"
        if result.score is not None and result.max_score is not None
        else "-"
    )
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
    return "\n".join(parts)


def render_feedback(result, notebook: nbformat.NotebookNode | None) -> str:
    """The feedback page of one submission as an HTML document."""
    from nbconvert import HTMLExporter

    summary = _summary(result)
    if notebook is None:
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head>"
            f"<body>{summary}</body></html>"
        )
    nb = nbformat.v4.new_notebook(metadata=notebook.get("metadata", {}))
    nb.cells = [nbformat.v4.new_markdown_cell(summary), *notebook.cells]
    exporter = HTMLExporter(template_name="classic")
    body, _ = exporter.from_notebook_node(nb)
    return body


def write_feedback(course, result) -> Path:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for one result."""
    nb_name = course.notebook_name(result.assignment)
    graded = course.root / "autograded" / result.student / result.assignment / nb_name
    notebook = None
    if result.status == "graded" and graded.is_file():
        notebook = nbformat.read(graded, as_version=4)
    out = course.root / "feedback" / result.student / result.assignment
    out.mkdir(parents=True, exist_ok=True)
    path = out / (Path(nb_name).stem + ".html")
    path.write_text(render_feedback(result, notebook), encoding="utf-8")
    return path
