"""``python -m dlcourse_grader ...``: the same as the ``dlcourse-grade`` command."""

from ._entry import main

raise SystemExit(main())
