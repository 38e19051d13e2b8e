"""``python -m autograder ...`` from the repository root runs ``dlcourse-grade ...``."""

from dlcourse_grader._entry import main

raise SystemExit(main())
