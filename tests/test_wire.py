"""The pipe between the test process and a student process (``autograder/_wire.py``).

A real student process (``_worker.py``, unsandboxed here: the sandbox has its own tests) runs
hostile definitions; these tests hold the guarantees the grader's integrity rests on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from dlcourse_grader import _wire
from dlcourse_grader.tester import WORKER

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


LEAKY = '''
def leak(check, x):
    """What a student learns when a function the tests passed in fails."""
    try:
        check(x)
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc} {getattr(exc, 'remote_traceback', '')}"
    return "no error"


def surrogates():
    print("out \\ud800 put")
    return "value \\udfff", {"key \\ud801": 1}


def raise_surrogate():
    raise ValueError("bad \\udc80 text")
'''


def test_errors_of_trusted_functions_carry_no_values(ep):
    assert ep.request("run_cell", source=LEAKY)["ok"]
    secret = "HIDDEN-EXPECTED-4.2517"

    def check(x):
        raise AssertionError(f"expected {secret}, got {x}")

    class TestOnly(Exception):
        pass

    def check_own(x):
        raise TestOnly(secret)

    said = student(ep, "leak")(check, 1.0)
    assert secret not in said and "4.2517" not in said
    assert said.startswith("AssertionError: ") and _wire.TRUSTED_ERROR in said
    said = student(ep, "leak")(check_own, 1.0)
    assert secret not in said and said.startswith("Exception: ") and "TestOnly" not in said


def test_lone_surrogates_from_the_student_become_replacement_characters(ep):
    assert ep.request("run_cell", source=LEAKY)["ok"]
    value, mapping = student(ep, "surrogates")()
    assert value == "value \ufffd" and list(mapping) == ["key \ufffd"]
    with pytest.raises(ValueError) as info:
        student(ep, "raise_surrogate")()
    str(info.value).encode("utf-8")  # would raise on a lone surrogate
    reply = ep.request("run_cell", source="print('a \\ud800 b')")
    json.dumps(reply, ensure_ascii=False).encode("utf-8")
    assert "a \ufffd b" in reply["output"]["text"]
    assert _wire.clean_text("x\ud800y\U0001f600") == "x\ufffdy\U0001f600"
    assert _wire.clean_text(b"raw") == "b'raw'"


def _pipe_endpoint():
    r, w = os.pipe()
    return _wire.Endpoint(r, w, "t", lambda ep, msg: None), r, w


def _send_bounded(end, r, msg) -> BaseException | None:
    """``end.send(msg)`` in a thread, given 10 s: what it raised, or None. A send still blocked
    then is ended by closing the read end (the write fails with a broken pipe) and fails."""
    raised = []

    def target():
        try:
            end.send(msg)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():
        os.close(r)
        thread.join(timeout=10)
        pytest.fail("send blocked on a peer that stopped reading")
    return raised[0] if raised else None


def test_a_peer_that_stops_reading_is_a_deadline_not_a_hang(monkeypatch):
    end, r, w = _pipe_endpoint()  # nobody reads r
    big = {"k": "res", "id": 1, "ok": True, "v": "x" * 300_000}
    try:
        end.deadline = time.monotonic() + 0.5
        assert isinstance(_send_bounded(end, r, big), _wire.Deadline)
        end.deadline = None
        monkeypatch.setattr(_wire, "STALL_LIMIT", 0.3)
        exc = _send_bounded(end, r, big)
        assert isinstance(exc, _wire.ProtocolError) and "stopped reading" in str(exc)
    finally:
        for fd in (r, w):
            try:
                os.close(fd)
            except OSError:
                pass


def test_messages_of_too_many_objects_are_refused_before_decoding():
    data = b'{"k":"res","id":1,"ok":true,"v":[' + b",".join([b"{}"] * 1_200_000) + b"]}"
    assert len(data) < _wire.MAX_MESSAGE
    started = time.monotonic()
    with pytest.raises(_wire.ProtocolError, match="JSON objects"):
        _wire.parse_message(data)
    assert time.monotonic() - started < 2
    assert _wire.parse_message(b'{"k":"res","id":1,"ok":true,"v":[{}, [], "{["]}')["ok"]
    end, r, w = _pipe_endpoint()
    try:
        os.write(w, (_wire.MAX_MESSAGE + 1).to_bytes(8, "little"))
        with pytest.raises(_wire.ProtocolError, match="larger than the limit"):
            end.recv()
    finally:
        os.close(r)
        os.close(w)


TYPES = """
import collections, dataclasses, decimal, fractions, itertools, sys
from typing import NamedTuple
import numpy as np

Point = collections.namedtuple("Point", "x y")

class Pair(NamedTuple):
    a: int
    b: int

class Fancy(NamedTuple):
    a: int
    def norm(self): return abs(self.a)

@dataclasses.dataclass
class Item:
    name: str
    qty: int

@dataclasses.dataclass(eq=False)
class Liar:
    name: str
    def __eq__(self, other): return True

class LiarSet(set):
    def __eq__(self, other): return True
    __hash__ = None

def values():
    return {
        "set": {1, 2, 3}, "frozenset": frozenset("ab"),
        "counter": collections.Counter("abca"),
        "odict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "ddict": collections.defaultdict(list, {"k": [1]}),
        "lambda_ddict": collections.defaultdict(lambda: 0, {"k": 1}),
        "deque": collections.deque([1, 2], maxlen=5),
        "point": Point(1, 2), "pair": Pair(3, 4), "item": Item("pen", 2),
        "range": range(2, 10, 3), "bytes": b"\\x00ab", "bytearray": bytearray(b"x"),
        "decimal": decimal.Decimal("1.10"), "fraction": fractions.Fraction(1, 3),
        "complex": 1 + 2j, "slice": slice(1, None, 2),
        "strings": np.array(["a", "bc"]), "bools": np.array([True, False]),
        "dates": np.array(["2020-01-01"], dtype="datetime64[D]"),
        "dtype": np.dtype("float32"),
    }

def squares(n):
    for i in range(n):
        yield i * i

def forever():
    return itertools.count()

def kinds(*args, **kwargs):
    named = sorted(f"{k}:{type(v).__name__}" for k, v in kwargs.items())
    return [type(a).__name__ for a in args] + named

def make_array(dtype):
    return np.zeros(2, dtype=dtype)

class ScaleError(ValueError):
    pass

class Meta(type):
    def __instancecheck__(cls, obj): return True
    def __subclasscheck__(cls, sub): return True

class Sneaky(Exception, metaclass=Meta):
    pass

def raise_scale():
    raise ScaleError("negative scale")

def raise_linalg():
    np.linalg.inv(np.zeros((2, 2)))

def raise_sneaky():
    raise Sneaky("anything")

def raise_named_like_builtin():
    class ValueError(Exception):  # a class of the notebook named as a builtin is not it
        pass
    raise ValueError("mine")

class Interrupt(KeyboardInterrupt):
    pass

def raise_interrupt():
    raise Interrupt("stop the grader")

def chatty(x):
    print("computing", x)
    print("careful", file=sys.stderr)
    return 2 * x

def chatty_fail():
    print("about to fail")
    raise ValueError("failed")

def mutate(d, grid, s, nested):
    d["new"] = [1]
    d["old"].append(2)
    grid[0][0] = 9
    s.add(4)
    nested["a"]["b"] = 5
"""


@pytest.fixture(scope="module")
def typed(ep):
    reply = ep.request("run_cell", source=TYPES)
    assert reply["ok"], reply
    return ep


@pytest.mark.timeout(60)
def test_more_kinds_of_plain_data_cross_by_value(typed):
    import collections
    import decimal
    import fractions

    v = student(typed, "values")()
    assert v["set"] == {1, 2, 3} and type(v["set"]) is set
    assert v["frozenset"] == frozenset("ab") and type(v["frozenset"]) is frozenset
    assert v["counter"] == collections.Counter("abca") and type(v["counter"]) is collections.Counter
    assert list(v["odict"]) == ["b", "a"] and type(v["odict"]) is collections.OrderedDict
    assert v["ddict"]["missing"] == [] and v["ddict"]["k"] == [1]
    assert v["lambda_ddict"] == {"k": 1} and v["lambda_ddict"].default_factory is None
    assert v["deque"] == collections.deque([1, 2]) and v["deque"].maxlen == 5
    assert v["point"] == (1, 2) and v["point"].x == 1 and v["point"]._fields == ("x", "y")
    assert v["pair"].b == 4
    assert isinstance(v["point"], student(typed, "Point"))  # the same class, made here
    assert student(typed, "Point")(1, 2) == v["point"]
    assert v["range"] == range(2, 10, 3)
    assert v["bytes"] == b"\x00ab" and v["bytearray"] == bytearray(b"x")
    assert v["decimal"] == decimal.Decimal("1.10") and v["fraction"] == fractions.Fraction(1, 3)
    assert v["complex"] == 1 + 2j and v["slice"] == slice(1, None, 2)
    assert v["strings"].tolist() == ["a", "bc"] and v["bools"].dtype == bool
    assert v["dates"].dtype == np.dtype("datetime64[D]")
    assert v["dtype"] == np.float32


@pytest.mark.timeout(60)
def test_dataclasses_are_records_compared_here(typed):
    import dataclasses

    item = student(typed, "values")()["item"]
    assert isinstance(item, _wire.Record)
    assert item == student(typed, "Item")("pen", 2) and item.qty == 2
    assert item != student(typed, "Item")("pen", 3)
    assert repr(item) == "Item(name='pen', qty=2)"

    @dataclasses.dataclass
    class Item:
        name: str
        qty: int

    assert item == Item("pen", 2) and item != Item("pen", 1)
    with pytest.raises(AttributeError):
        item.qty = 3
    liar = student(typed, "Liar")("x")  # its __eq__ says True: compared here, by fields
    assert liar != student(typed, "Liar")("y") and not (liar == Item("x", 1))


@pytest.mark.timeout(60)
def test_hostile_containers_cannot_claim_equality(typed):
    fake = student(typed, "LiarSet")([1])
    assert isinstance(fake, _wire.StudentObject) and fake != {1} and fake != {2}
    fancy = student(typed, "Fancy")(-3)  # a namedtuple with methods stays a proxy
    assert isinstance(fancy, _wire.StudentObject) and fancy.norm() == 3


@pytest.mark.timeout(60)
def test_generators_are_materialised_with_a_cap(typed):
    gen = student(typed, "squares")(4)
    assert next(gen) == 0 and list(gen) == [1, 4, 9]
    endless = student(typed, "forever")()
    assert [next(endless) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="more than"):
        list(endless)


@pytest.mark.timeout(60)
def test_the_same_kinds_pass_into_student_code(typed):
    import collections

    kinds = student(typed, "kinds")
    got = kinds(
        {1, 2}, np.array(["a"]), np.array([True]), collections.Counter("a"), range(3),
        b"x", dtype=bool, scalar=np.float32,
    )  # fmt: skip
    assert got == [
        "set", "ndarray", "ndarray", "Counter", "range", "bytes", "dtype:type", "scalar:type",
    ]  # fmt: skip
    np_student = student(typed, "np")  # the student's NumPy module
    assert np_student.zeros(2, dtype=bool).dtype == bool
    assert student(typed, "make_array")(np.float32).dtype == np.float32


@pytest.mark.timeout(60)
def test_exceptions_arrive_as_their_classes(typed):
    scale_error = student(typed, "ScaleError")
    assert isinstance(scale_error, type) and issubclass(scale_error, ValueError)
    with pytest.raises(scale_error, match="negative scale"):
        student(typed, "raise_scale")()
    assert student(typed, "ScaleError") is scale_error
    with pytest.raises(ValueError):
        student(typed, "raise_scale")()
    with pytest.raises(np.linalg.LinAlgError):
        student(typed, "raise_linalg")()
    sneaky = student(typed, "Sneaky")  # its metaclass claims every instance: not here
    assert not isinstance(ValueError("x"), sneaky) and not issubclass(ValueError, sneaky)
    assert type(sneaky) is type
    with pytest.raises(sneaky):
        student(typed, "raise_sneaky")()
    with pytest.raises(_wire.RemoteError) as info:
        student(typed, "raise_named_like_builtin")()
    assert not isinstance(info.value, ValueError) and type(info.value).__name__ == "ValueError"
    with pytest.raises(_wire.RemoteError) as info:  # an Exception here, never a BaseException
        student(typed, "raise_interrupt")()
    assert not isinstance(info.value, KeyboardInterrupt)
    with pytest.raises(AssertionError):  # a test expecting ScaleError is not fooled
        try:
            student(typed, "raise_sneaky")()
        except scale_error:
            pass
        except sneaky:
            raise AssertionError("sneaky is not a ScaleError") from None


@pytest.mark.timeout(60)
def test_printed_output_reaches_the_test(typed, capsys):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert student(typed, "chatty")(3) == 6
    assert buffer.getvalue() == "computing 3\n"
    capsys.readouterr()
    student(typed, "chatty")(4)
    captured = capsys.readouterr()
    assert captured.out == "computing 4\n" and captured.err == "careful\n"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.raises(ValueError):
        student(typed, "chatty_fail")()
    assert buffer.getvalue() == "about to fail\n"
    assert "computing 3" in typed.request("output")["text"]  # still in the cell's output


@pytest.mark.timeout(60)
def test_in_place_changes_of_nested_containers_come_back(typed):
    inner = [1]
    d = {"old": inner, "gone": 0}
    grid = [[1, 2], [3, 4]]
    row = grid[0]
    s = {1}
    nested = {"a": {"b": 1}}
    student(typed, "mutate")(d, grid, s, nested)
    assert d == {"old": [1, 2], "gone": 0, "new": [1]} and d["old"] is inner
    assert grid == [[9, 2], [3, 4]] and grid[0] is row
    assert s == {1, 4} and nested == {"a": {"b": 5}}


TRUSTED = """
def draw(ax):
    ax.plot([1, 2], [3, 4])
    ax.set_title("t")
    return ax

def fit(est, X, y):
    est.fit(X, y)
    return est.predict(X)

class Fake:
    def predict(self, X): return X
    def score(self, X, y): return 1.0

def attempts(obj):
    out = []
    for f in (
        lambda: obj.figure.savefig("h2_wire_written.png"),
        lambda: obj._axes,
        lambda: obj.read_text(),
        lambda: setattr(obj, "get_title", obj.get_xlabel),
        lambda: setattr(obj, "score", Fake().score),
        lambda: obj.set_params(fit_intercept=Fake()),
    ):
        try:
            f()
            out.append("done")
        except Exception as e:
            out.append(type(e).__name__)
    return out

def same(x):
    return x

def bypass(ax):
    # call a method reached from the Axes by its id, past the object's handle
    method = ax.figure.savefig
    ep = object.__getattribute__(method, "_ep")
    ref = {"$": "ref", "side": "t", "id": object.__getattribute__(method, "_id")}
    try:
        args = ep.encode(["call", "h2_wire_bypass.png"])
        ep.request("callback", fn=ref, args=args, kwargs=ep.encode({}))
    except Exception as e:
        return type(e).__name__
    return "done"
"""


@pytest.mark.timeout(60)
def test_objects_passed_in_serve_public_operations_only(typed, tmp_path, monkeypatch):
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sklearn = pytest.importorskip("sklearn.linear_model")
    assert typed.request("run_cell", source=TRUSTED)["ok"]
    fig, ax = plt.subplots()
    try:
        assert student(typed, "draw")(ax) is ax  # it comes back as the test's own object
        assert ax.get_title() == "t" and len(ax.lines) == 1
        est = sklearn.LinearRegression()
        X, y = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
        np.testing.assert_allclose(student(typed, "fit")(est, X, y), y)
        assert est.coef_.shape == (2,)
        monkeypatch.chdir(tmp_path)
        secret = tmp_path / "secret.txt"
        secret.write_text("SOLUTION")
        # savefig and read_text open files; private names, replacing a method, storing a
        # student object inside: all refused
        assert student(typed, "attempts")(ax)[:2] == ["PermissionError", "AttributeError"]
        assert not (tmp_path / "h2_wire_written.png").exists()
        assert student(typed, "bypass")(ax) == "PermissionError"
        assert not (tmp_path / "h2_wire_bypass.png").exists()
        assert student(typed, "attempts")(pathlib.Path(secret))[2] == "PermissionError"
        assert student(typed, "attempts")(ax)[3] == "PermissionError"
        assert ax.get_title() == "t" and "get_title" not in vars(ax)
        assert student(typed, "attempts")(est)[4:] == ["PermissionError", "PermissionError"]
        assert est.fit_intercept is True
        assert student(typed, "apply")(np.exp, 0.0) == 2.0  # a callable object: called freely
    finally:
        plt.close(fig)


@pytest.mark.timeout(60)
def test_dataframes_cross_both_ways(typed):
    pd = pytest.importorskip("pandas")
    assert typed.request("run_cell", source=TRUSTED)["ok"]
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.5, None]}, index=["r1", "r2"])
    pd.testing.assert_frame_equal(student(typed, "same")(df), df)
    s = pd.Series([1.0, 2.0], name="s", index=pd.Index([3, 4], name="i"))
    pd.testing.assert_series_equal(student(typed, "same")(s), s)


SLOW = """
import time

def slow_forever():
    i = 0
    while True:
        time.sleep(0.3)
        yield i
        i += 1

def slow_three():
    for i in range(3):
        time.sleep(0.6)
        yield i
"""


@pytest.mark.timeout(60)
def test_slow_generators_run_ahead_then_come_on_demand(typed):
    import itertools

    assert typed.request("run_cell", source=SLOW)["ok"]
    started = time.monotonic()
    gen = student(typed, "slow_forever")()
    assert list(itertools.islice(gen, 8)) == list(range(8))  # 4 ahead, 4 on demand
    assert time.monotonic() - started < 10
    assert list(student(typed, "slow_three")()) == [0, 1, 2]  # ends where the student's does


METHODS = """
class Node:
    def __init__(self, x):
        self.x = x

    def double(self):
        return Node(2 * self.x)


class Watched:  # customizes attribute access: its methods are fetched as before
    def __getattribute__(self, name):
        return object.__getattribute__(self, name)

    def one(self):
        return 1
"""


def _trips(ep, action):
    before = ep.round_trips
    value = action()
    return value, ep.round_trips - before


def test_a_method_call_is_one_round_trip_and_follows_the_class(ep):
    """``obj.method(...)`` is one message (looked up in the student process when used); a
    method added to the class later is called the same way, and whatever the name resolves to
    when used (an instance attribute, a replaced non-callable) is what the test gets."""
    assert ep.request("run_cell", source=METHODS)["ok"]
    node = student(ep, "Node")(3)
    twice, trips = _trips(ep, lambda: node.double())
    assert trips == 1 and isinstance(twice, _wire.StudentObject)
    assert twice.x == 6
    assert node.double.__name__ == "double"  # used other than by a call: fetched then
    # a method patched in later (as assignments do: Value.relu = _relu) is fused too
    assert ep.request("run_cell", source="Node.triple = lambda self: Node(3 * self.x)")["ok"]
    fresh = student(ep, "Node")(2)
    value, trips = _trips(ep, lambda: fresh.triple().x)
    assert value == 6 and trips == 2  # the call, then reading x
    # an instance attribute hides the method: it is what runs, as getattr would give it
    assert ep.request("run_cell", source="n = Node(5)\nn.double = lambda: 'own'")["ok"]
    assert student(ep, "n").double() == "own"
    # replaced by a non-callable after the class was described: the same error as unfused
    fresh = student(ep, "Node")(1)
    assert ep.request("run_cell", source="Node.double = 7")["ok"]
    with pytest.raises(TypeError, match="not callable"):
        fresh.double()
    watched = student(ep, "Watched")()
    value, trips = _trips(ep, lambda: watched.one())
    assert value == 1 and trips == 2  # getattr, then the call
