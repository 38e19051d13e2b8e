"""Start-up of the package's own command-line processes: skip an optional import that costs
seconds and that none of them uses.

``nbformat`` validates notebooks with ``jsonschema``, whose format checkers import the optional
``rfc3987_syntax`` when it is installed (``jupyter_events`` brings it, through
``jsonschema[format-nongpl]``). That package builds a Lark grammar at import: about 2 s of CPU
on the course machine, out of 2.3 s for ``import nbformat`` (0.3 s without it). Every grading
job's test process, every ``dlcourse-grade`` and ``dlcourse-check`` command paid it. It only
serves jsonschema's ``"iri"`` and ``"iri-reference"`` formats, which no notebook schema of
nbformat uses, so notebooks are validated exactly as before.

This is done only in processes the package starts (the console scripts and the grader's test
processes), never on ``import dlcourse``: a user's own process keeps its jsonschema intact.
"""

from __future__ import annotations

import sys

SLOW_OPTIONAL_MODULES = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make :data:`SLOW_OPTIONAL_MODULES` unimportable in this process, so that jsonschema
    leaves out the format checks that need them, unless jsonschema was already imported
    (then its checks are left as they are) or a module was already imported."""
    if "jsonschema" in sys.modules:
        return
    for name in SLOW_OPTIONAL_MODULES:
        # `import name` now raises ImportError (typeshed types sys.modules without None)
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
