"""Grading from a process that already holds more than 1024 open files.

An instructor grades from a long-lived process (a notebook server, a formgrader, a test
session) that may hold many descriptors. The grader used ``select(2)``, which cannot watch a
descriptor numbered 1024 or more: every submission then failed with "filedescriptor out of range
in select()" (it happened in `make test`, after other tests had left kernels behind). It now
uses ``poll(2)``.
"""

from __future__ import annotations

import os
import resource

import pytest

from .test_grading_setup_cell import _grade

pytestmark = [pytest.mark.grading, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def many_open_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1200
    if hard != resource.RLIM_INFINITY and hard < want + 100:
        pytest.skip(f"the hard limit on open files ({hard}) is too low for this test")
    if soft != resource.RLIM_INFINITY and soft < want + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want + 100, hard))
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(want)]
    assert max(fds) >= 1024
    try:
        yield
    finally:
        for fd in fds:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_grading_works_when_descriptors_above_1024_are_in_use(tmp_path, many_open_files):
    r = _grade(tmp_path, "manyfds", "False")
    assert r.status == "graded", r.reason
    assert r.score == pytest.approx(5.0), (r.events, [t["message"] for t in r.tests])
