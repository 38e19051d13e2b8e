"""``python -m dlcourse_grader._tester_main``: a grading job's test process (see
:func:`dlcourse_grader.tester.main`), started after the slow optional imports are skipped."""

from dlcourse._startup import skip_slow_optional_imports

skip_slow_optional_imports()

from dlcourse_grader.tester import main  # noqa: E402 - only after the skip

main()
