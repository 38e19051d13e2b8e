"""The pipe between the test process and a student process (``autograder/_wire.py``).

A real student process (``_worker.py``, unsandboxed here: the sandbox has its own tests) runs
hostile definitions; these tests hold the guarantees the grader's integrity rests on.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from autograder import _wire
from autograder.tester import WORKER

pytestmark = pytest.mark.grading

HOSTILE = """
import numpy as np

class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __bool__(self): return True

class Pointer:
    @property
    def __array_interface__(self):
        return {"shape": (1000,), "typestr": "<f8", "data": (8, False), "version": 3}

def cheat(*args, **kwargs):
    return AlwaysEqual()

def scale_in_place(a, factor):
    a *= factor
    return None

def append_to(xs):
    xs.append(99)

def apply(f, x):
    return f(x) + 1

def poke(f):
    return f.__globals__

def fail():
    raise ValueError("bad argument")

def total(a):
    return a.sum()
"""


@pytest.fixture(scope="module")
def ep():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-I", str(WORKER), str(r1), str(w2)], pass_fds=(r1, w2)
    )
    os.close(r1)
    os.close(w2)

    def serve(endpoint, msg):  # what the grader allows: calling the functions it passed in
        if msg.get("op") != "callback":
            raise PermissionError("only callbacks")
        fn = endpoint.decode(msg["fn"])
        return fn(*endpoint.decode(msg["args"]), **endpoint.decode(msg["kwargs"]))

    endpoint = _wire.Endpoint(r2, w1, "t", serve)
    endpoint.proxy_class = _wire.StudentObject
    endpoint.export_filter = lambda obj: callable(obj) and not isinstance(obj, type)
    reply = endpoint.request("run_cell", source=HOSTILE)
    assert reply["ok"], reply
    yield endpoint
    proc.kill()
    proc.wait()


def student(ep, name):
    return ep.request("getname", name=name)


def test_an_object_that_equals_everything_equals_nothing(ep):
    obj = student(ep, "cheat")()
    assert isinstance(obj, _wire.StudentObject)
    assert not (obj == 3.0) and obj != 3.0 and obj == obj
    for compare in (lambda: obj < 1e-7, lambda: obj > 0, lambda: obj <= 1, lambda: obj >= 1):
        with pytest.raises(TypeError, match="cannot order"):
            compare()


def test_array_conversion_needs_numbers_and_never_follows_pointers(ep):
    with pytest.raises(TypeError, match="not an array of numbers"):
        np.asarray(student(ep, "cheat")(), dtype=float)
    pointer = student(ep, "Pointer")()
    with pytest.raises(AttributeError):
        pointer.__array_interface__  # noqa: B018 - would point NumPy at memory of this process


def test_plain_data_crosses_by_value(ep):
    a = np.arange(6.0).reshape(2, 3)
    got = student(ep, "total")(a)
    assert type(got) is np.float64 and got == 15.0
    assert student(ep, "np").__name__ == "numpy"  # a module stays a proxy: its name is data


def test_in_place_changes_of_arguments_come_back(ep):
    a = np.ones(3)
    student(ep, "scale_in_place")(a, 2.0)
    np.testing.assert_array_equal(a, [2.0, 2.0, 2.0])
    xs = [1, 2]
    student(ep, "append_to")(xs)
    assert xs == [1, 2, 99]


def test_student_exceptions_arrive_as_builtin_types(ep):
    with pytest.raises(ValueError, match="bad argument"):
        student(ep, "fail")()
    with pytest.raises(NameError, match="not defined by your notebook"):
        student(ep, "no_such_name")


def test_callbacks_work_but_expose_nothing_else(ep):
    assert student(ep, "apply")(lambda x: 2 * x, 20) == 41
    with pytest.raises(AttributeError):  # the student side cannot read the test's globals
        student(ep, "poke")(lambda x: x)
