"""The pipe protocol between the trusted test process and the sandboxed student process.

Both ends import this module; the student end runs it as a plain file inside the sandbox, so it
needs nothing but the standard library and NumPy (torch is used only when a tensor crosses).

Messages are length-prefixed JSON objects. Values cross **by value** when they are plain data:
``None``, bools, numbers (``complex``, ``Decimal``, ``Fraction``), strings, bytes, lists,
tuples, dicts, sets, ``Counter``, ``OrderedDict``, ``defaultdict`` (a builtin factory only),
``deque``, ``range``, slices, NumPy arrays, scalars and dtypes of any dtype but object, torch
tensors and dtypes, pandas DataFrames and Series, builtin types (``dtype=bool``), plain
namedtuples (and their classes: the same class each time, made here), dataclass instances (as a
read-only :class:`Record` compared here, by its fields), generators and builtin iterators (run
to their end, at most :data:`MAX_ITEMS` items: :class:`StudentIterator`). Exception classes of
the student cross by the names of their MRO (:func:`exception_class`). Everything else crosses
**by reference**: the receiver gets a proxy whose operations are forwarded to the owner;
functions the tests pass in are :class:`TrustedCallable`, their other objects (an Axes, an
estimator) :class:`TrustedObject`, served with public names only and guarded. Decoding never
runs code of the sender (no pickle, no import, no lookup beyond dictionaries), so whatever the
student process sends, the trusted end only ever receives genuine data or proxies; equality of
what crosses by value is computed by the receiver.
"""

from __future__ import annotations

import base64
import builtins
import collections
import json
import math
import operator
import os
import re
import select
import sys
import time
import traceback
import types

MAX_MESSAGE = 64 * 2**20  # bytes; a larger message is a protocol error
MAX_OBJECTS = 1_000_000  # JSON objects and arrays a message may hold (bounds decoding memory)
MAX_TEXT = 4000  # characters kept of a repr or an error message
STALL_LIMIT = 300.0  # seconds a write may wait for a peer that stopped reading, without deadline
# what an error raised on the trusted side says to the student process: its type, no values
TRUSTED_ERROR = "raised by a function the tests passed in (details are not shown)"

_NUMERIC_KINDS = "biufc"
_ARRAY_KINDS = "biufcUSMm"  # any dtype but object (O) and raw/structured (V) crosses by value
PRINTED_LIMIT = 1_000_000  # characters of what a student's function prints, sent with its result
MAX_ITEMS = 100_000  # items of a generator or iterator that may cross
ITER_SECONDS = 1.0  # time a crossing generator runs ahead before the rest comes on demand
# builtin types that cross by name (``dtype=bool``, ``defaultdict(list)``)
_BUILTIN_TYPES = {
    t.__name__: t
    for t in (bool, int, float, complex, str, bytes, bytearray, object, list, tuple, dict,
              set, frozenset, slice, range, type(None))
}  # fmt: skip


def wait_for(fd: int, seconds: float, write: bool = False) -> bool:
    """Whether ``fd`` is ready to read (or to write) within ``seconds``.

    ``poll(2)``, not ``select(2)``: select cannot watch a descriptor numbered 1024 or more, and
    a long-lived process (an instructor's notebook server, a test session) may hold that many.
    A closed peer counts as ready (the read then returns nothing).
    """
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(poller.poll(math.ceil(max(seconds, 0.0) * 1000)))


class ProtocolError(Exception):
    """The other end sent something that is not a valid message, or went away."""


class PeerDied(ProtocolError):
    """The other end closed the pipe (its process exited or was killed)."""


class Deadline(BaseException):  # noqa: N818 - not an error of the test code; must not be caught
    """The current cell ran past its time limit (raised in the trusted end while it waits)."""


class RemoteError(Exception):
    """An exception raised by student code that is not a built-in exception type."""


# -- text ----------------------------------------------------------------------------------------
_SURROGATES = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def clean_text(s) -> str:
    """``s`` as valid Unicode: lone surrogates (which cannot be written as UTF-8) become U+FFFD.

    Anything that is not a string is converted with ``str`` first ("<unprintable>" if that
    fails); a clean string is returned as it is.
    """
    if not isinstance(s, str):
        try:
            s = str(s)
        except Exception:  # noqa: BLE001 - a hostile __str__
            return "<unprintable>"
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", s)
    return s


def _clean_tree(value):
    """A decoded JSON value with every string (keys included) passed through clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean_tree(v) for k, v in value.items()}
    return value


# -- values --------------------------------------------------------------------------------------
def _np():
    import numpy

    return numpy


def _is_tensor(obj) -> bool:
    mod = type(obj).__module__
    return mod.startswith("torch") and type(obj).__name__ in ("Tensor", "Parameter")


def _array_payload(a) -> dict:
    np = _np()
    a = np.asarray(a)
    if not a.flags.c_contiguous:
        a = a.copy(order="C")
    return {
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "b64": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def _array_from_payload(d: dict):
    np = _np()
    try:
        dtype = np.dtype(d["dtype"])
        shape = tuple(int(s) for s in d["shape"])
        raw = base64.b64decode(d["b64"], validate=True)
    except Exception as exc:
        raise ProtocolError(f"bad array payload: {exc}") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or any(s < 0 for s in shape):
        raise ProtocolError(f"array of dtype {dtype} or shape {shape} is not plain data")
    if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ProtocolError("array payload size does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class Endpoint:
    """One end of the connection: sends requests, serves the other end's requests meanwhile.

    Parameters
    ----------
    rfd, wfd : int
        File descriptors to read from and write to.
    side : str
        ``"t"`` (trusted) or ``"w"`` (worker); names whose objects a reference points to.
    serve : callable(endpoint, message) -> value
        Handles a request from the other end; its return value is sent back.
    """

    def __init__(self, rfd: int, wfd: int, side: str, serve):
        self.rfd, self.wfd, self.side, self._serve = rfd, wfd, side, serve
        self._buf = bytearray()
        self._next_id = 0
        self.handles: dict[int, object] = {}  # our objects the other end holds references to
        self._proxies: dict[int, object] = {}  # the other end's objects we hold references to
        self.deadline: float | None = None  # absolute time.monotonic() limit for waiting
        self.export_filter = None  # callable(obj) -> bool: may this object be sent by reference?
        self._trusted_handles: dict[tuple[int, bool], _TrustedHandle] = {}
        self._guarded = False  # encoding what a trusted object's operation returned
        self.proxy_class = None  # class used for references to the other end's objects
        self.round_trips = 0  # requests answered: those we sent and those we served
        self._classes: dict[int, tuple] = {}  # classes whose methods we named, and their shape
        self._class_methods: dict[int, frozenset] = {}  # the other end's: class key -> names

    # ---- framing
    def send(self, msg: dict) -> None:
        data = json.dumps(msg, allow_nan=True, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_MESSAGE:
            raise ValueError(f"a value of {len(data) / 2**20:.0f} MB is too large to transfer")
        view = memoryview(len(data).to_bytes(8, "little") + data)
        if os.get_blocking(self.wfd):
            os.set_blocking(self.wfd, False)  # a peer that stops reading must not block us
        stalled_since = time.monotonic()
        while view:
            try:
                n = os.write(self.wfd, view)
            except BlockingIOError:
                self._wait_writable(stalled_since)
                continue
            except BrokenPipeError:
                raise PeerDied("the other process closed the connection") from None
            view, stalled_since = view[n:], time.monotonic()

    def _wait_writable(self, stalled_since: float) -> None:
        """Wait until the pipe takes more bytes: until the deadline (then :class:`Deadline`),
        or without one, :data:`STALL_LIMIT` seconds without progress (a ProtocolError)."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Deadline()
        else:
            left = stalled_since + STALL_LIMIT - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"the other process stopped reading for {STALL_LIMIT:g} s")
        wait_for(self.wfd, left, write=True)

    def _fill(self, n: int) -> None:
        while len(self._buf) < n:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise Deadline()
                if not wait_for(self.rfd, left):
                    raise Deadline()
            # read what is still missing, at least a page: a fixed large size would make
            # Python allocate (and the kernel map) that much for every small message
            chunk = os.read(self.rfd, min(max(n - len(self._buf), 4096), MAX_MESSAGE))
            if not chunk:
                raise PeerDied("the other process closed the connection")
            self._buf += chunk

    def recv(self) -> dict:
        self._fill(8)
        size = int.from_bytes(self._buf[:8], "little")
        if size > MAX_MESSAGE:
            raise ProtocolError(f"message of {size} bytes is larger than the limit")
        self._fill(8 + size)
        data = bytes(self._buf[8 : 8 + size])
        del self._buf[: 8 + size]
        return parse_message(data)

    # ---- request / response
    def request(self, op: str, **fields):
        """Send a request and wait for its response, serving nested requests meanwhile."""
        self._next_id += 1
        self.round_trips += 1
        rid = self._next_id
        self.send({"k": "req", "id": rid, "op": op, **fields})
        while True:
            msg = self.recv()
            if msg["k"] == "req":
                self.handle(msg)
                continue
            if msg.get("id") != rid:
                raise ProtocolError(f"response {msg.get('id')!r} does not answer request {rid}")
            if msg.get("ok") is True:
                return self.decode(msg.get("v"))
            err = msg.get("err")
            if self.side == "t" and isinstance(err, dict):
                emit_printed(err.get("printed"))  # what the student's code printed, then failed
            raise self.error_from(err)

    def handle(self, msg: dict) -> None:
        """Serve one request from the other end and send the response."""
        self.round_trips += 1
        try:
            value = self._serve(self, msg)
            reply = {"k": "res", "id": msg.get("id"), "ok": True, "v": self.encode(value)}
        except Deadline:
            raise
        except BaseException as exc:  # noqa: BLE001 - any failure is reported to the caller
            if isinstance(exc, (KeyboardInterrupt, PeerDied)) and self.side == "t":
                raise
            err = error_payload(exc, with_traceback=self.side == "w")
            reply = {"k": "res", "id": msg.get("id"), "ok": False, "err": err}
        self.send(reply)

    def serve_forever(self) -> None:
        while True:
            self.handle(self.recv())

    # ---- values
    def encode(self, obj, depth: int = 0):
        """``obj`` as plain JSON data: by value when its kind is known, else a reference."""
        if depth > 50:
            raise ValueError("the value is nested too deeply to transfer")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        t = type(obj)
        if t is int:
            return obj
        for stage in (self._encode_builtin, self._encode_structured, self._encode_library):
            encoded = stage(obj, t, depth)
            if encoded is not _UNKNOWN:
                return encoded
        return self._encode_by_reference(obj, t, depth)

    def _encode_builtin(self, obj, t, depth: int):
        """Numbers, containers and other values of the standard library."""
        if t is float:
            return {"$": "float", "v": repr(obj)}
        if t is complex:
            return {"$": "complex", "re": repr(obj.real), "im": repr(obj.imag)}
        if t in (list, tuple, set, frozenset):
            return {"$": t.__name__, "v": [self.encode(x, depth + 1) for x in obj]}
        if t in (dict, collections.Counter, collections.OrderedDict, collections.defaultdict):
            items = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]
            if t is collections.defaultdict:
                factory = obj.default_factory
                known = _BUILTIN_TYPES.get(getattr(factory, "__name__", None)) is factory
                return {"$": "ddict", "f": factory.__name__ if known else None, "v": items}
            return {"$": _MAPPING_TAGS[t], "v": items}
        if t is collections.deque:
            v = [self.encode(x, depth + 1) for x in obj]
            return {"$": "deque", "maxlen": obj.maxlen, "v": v}
        if t is range:
            return {"$": "range", "v": [obj.start, obj.stop, obj.step]}
        if t in (bytes, bytearray):
            return {"$": t.__name__, "b64": base64.b64encode(obj).decode("ascii")}
        if t is slice:
            return {
                "$": "slice",
                "v": [self.encode(x, depth + 1) for x in (obj.start, obj.stop, obj.step)],
            }
        if obj is Ellipsis:
            return {"$": "ellipsis"}
        if t.__module__ in ("decimal", "_decimal", "_pydecimal") and t.__name__ == "Decimal":
            return {"$": "decimal", "v": str(obj)}
        if t.__module__ == "fractions" and t.__name__ == "Fraction":
            return {"$": "fraction", "v": [int(obj.numerator), int(obj.denominator)]}
        return _UNKNOWN

    def _encode_structured(self, obj, t, depth: int):
        """Records, iterators, classes by name, namedtuples, dataclasses, generators."""
        if t is Record:
            fields = object.__getattribute__(obj, "_fields")
            return {
                "$": "record",
                "name": object.__getattribute__(obj, "_name"),
                "v": [[k, self.encode(v, depth + 1)] for k, v in fields.items()],
            }
        if t is StudentIterator:
            rest = obj._rest
            return {
                "$": "iter",
                "v": [self.encode(x, depth + 1) for x in obj._items[obj._pos :]],
                "more": obj._more,
                "rest": None if rest is None else self.encode(rest, depth + 1),
            }
        if isinstance(obj, type):
            described = self._encode_class(obj)
            if described is not None:
                return described
        else:
            if isinstance(obj, tuple) and _plain_namedtuple(t):
                fields = [str(f) for f in t._fields]
                v = [self.encode(x, depth + 1) for x in obj]
                return {"$": "ntuple", "name": t.__name__, "fields": fields, "v": v}
            if _is_dataclass_instance(obj):
                names = [str(f) for f in type(obj).__dataclass_fields__]
                fields = [[k, self.encode(getattr(obj, k), depth + 1)] for k in names]
                return {"$": "record", "name": t.__qualname__, "v": fields}
            if _is_iterator(obj):
                items, more, rest = [], False, None
                budget = time.monotonic() + ITER_SECONDS
                for x in obj:
                    if len(items) >= MAX_ITEMS:
                        more = True
                        break
                    items.append(self.encode(x, depth + 1))
                    if self.side == "w" and time.monotonic() > budget:
                        rest = self._reference(obj)  # slow items: the rest on demand
                        break
                return {"$": "iter", "v": items, "more": more, "rest": rest}
        return _UNKNOWN

    def _encode_library(self, obj, t, depth: int):
        """NumPy arrays, scalars and dtypes, torch tensors and dtypes, pandas frames."""
        mod = t.__module__
        if mod == "numpy":
            np = _np()
            if isinstance(obj, np.ndarray) and obj.dtype.kind in _ARRAY_KINDS:
                return {"$": "nd", **_array_payload(obj)}
            if isinstance(obj, np.generic) and obj.dtype.kind in _ARRAY_KINDS:
                return {"$": "npscalar", **_array_payload(np.asarray(obj))}
            if isinstance(obj, np.dtype) and obj.kind in _ARRAY_KINDS:
                return {"$": "dtype", "v": obj.str}
        if mod.startswith("numpy.dtypes"):
            np = _np()
            if isinstance(obj, np.dtype) and obj.kind in _ARRAY_KINDS:
                return {"$": "dtype", "v": obj.str}
        if mod == "torch" and t.__name__ == "dtype":
            return {"$": "tdtype", "v": str(obj).removeprefix("torch.")}
        if _is_tensor(obj) and str(obj.layout) == "torch.strided":
            t = obj.detach().cpu()
            if str(t.dtype) == "torch.bfloat16":
                t = t.float()
            return {
                "$": "tensor",
                "requires_grad": bool(obj.requires_grad),
                **_array_payload(t.numpy()),
            }
        if mod.split(".")[0] == "pandas" and t.__name__ in ("DataFrame", "Series"):
            described = self._encode_pandas(obj, depth)
            if described is not None:
                return described
        return _UNKNOWN

    def _encode_by_reference(self, obj, t, depth: int):
        """What cannot cross by value: a proxy sent back, a trusted object, a reference."""
        if isinstance(obj, _ProxyBase) and object.__getattribute__(obj, "_ep") is self:
            attr = object.__getattribute__(obj, "_attr")
            if attr is not None:  # a method not fetched yet: the owner looks it up on use
                return {"$": "attr", "of": self.encode(attr[0], depth + 1), "name": attr[1]}
            return {"$": "ref", "side": self._other(), "id": object.__getattribute__(obj, "_id")}
        if self.side == "t" and t is TrustedRef:  # what a trusted object's operation gives
            guarded, self._guarded = self._guarded, True
            try:
                return self.encode(obj.value, depth)
            finally:
                self._guarded = guarded
        if self.side == "t" and self._guarded:
            if not _reachable(obj):
                raise TypeError(f"an object of type {t.__name__} is not available to your code")
            return self._encode_trusted_object(obj, free_call=False)
        if self.side == "t" and _object_by_reference(obj):
            return self._encode_trusted_object(obj, free_call=True)
        if self.export_filter is not None and not self.export_filter(obj):
            raise TypeError(
                f"an object of type {type(obj).__name__} cannot be passed to the other process"
            )
        return self._reference(obj)

    def _reference(self, obj) -> dict:
        hid = id(obj)
        self.handles[hid] = obj
        ref = {"$": "ref", "side": self.side, "id": hid, "type": type(obj).__name__[:100]}
        if self.side == "w":  # the methods of its class, named again when the class changes
            cls = type(obj)
            ref["c"] = id(cls)
            try:
                shape = tuple(len(vars(klass)) for klass in cls.__mro__)
            except Exception:  # noqa: BLE001 - a class that hides its namespace: no shortcut
                shape = None
            known = self._classes.get(id(cls))
            if shape is None or known is None or known[1] != shape:
                self._classes[id(cls)] = (cls, shape)  # keeps the class, so its id stays its own
                ref["m"] = plain_methods(cls) if shape is not None else []
        return ref

    def _encode_trusted_object(self, obj, free_call: bool):
        """A reference to an object of the tests (an Axes, an optimizer, an estimator) that the
        student's code may use: read its public attributes, call its public methods. Each such
        operation is served here by a :class:`_TrustedHandle` (``h``), guarded; calling an
        object the tests passed in themselves (``free_call``) is not, as for a function."""
        handle = self._trusted_handles.get((id(obj), free_call))
        if handle is None or handle.obj is not obj:
            handle = _TrustedHandle(obj, free_call)
            self._trusted_handles[id(obj), free_call] = handle
            self.handles[id(handle)] = handle
        if free_call or not callable(obj):
            hid = id(obj)  # comes back as the object itself
            self.handles[hid] = obj
        else:  # never the object itself: it could then be called past its guard
            hid = id(handle)
        return {
            "$": "ref",
            "side": self.side,
            "id": hid,
            "h": id(handle),
            "type": type(obj).__name__[:100],
        }

    def _encode_class(self, cls):
        """A class that crosses by name: a builtin type, a NumPy scalar type, and from the
        student an exception class (by its MRO's names) or a plain namedtuple class."""
        name = getattr(cls, "__name__", None)
        if isinstance(name, str) and _BUILTIN_TYPES.get(name) is cls:
            return {"$": "btype", "v": name}
        if cls.__module__ == "numpy":
            np = _np()
            if issubclass(cls, np.generic) and cls is not np.generic:
                try:
                    dtype = np.dtype(cls)
                except TypeError:
                    dtype = None
                if dtype is not None and dtype.kind in _ARRAY_KINDS:
                    return {"$": "nptype", "v": dtype.str}
        if self.side == "w":
            if issubclass(cls, BaseException):
                return {"$": "exctype", "mro": class_mro(cls)}
            if _plain_namedtuple(cls):
                return {"$": "ntclass", "name": cls.__name__, "fields": list(cls._fields)}
        return None

    def _encode_pandas(self, obj, depth: int):
        """A DataFrame or Series by value: its columns (arrays, or lists of Python values for
        object columns), index and names."""

        def column(values):
            a = values.to_numpy()
            if a.dtype.kind in _ARRAY_KINDS:
                return {"$": "nd", **_array_payload(a)}
            return self.encode(a.tolist(), depth + 2)

        def index(ix):
            return {"v": column(ix), "name": self.encode(ix.name, depth + 2)}

        if type(obj).__name__ == "Series":
            return {
                "$": "series",
                "v": column(obj),
                "index": index(obj.index),
                "name": self.encode(obj.name, depth + 1),
            }
        return {
            "$": "frame",
            "columns": [self.encode(c, depth + 1) for c in obj.columns],
            "v": [column(obj.iloc[:, i]) for i in range(obj.shape[1])],
            "index": index(obj.index),
        }

    def _other(self) -> str:
        return "w" if self.side == "t" else "t"

    def decode(self, d, depth: int = 0):
        if depth > 60:
            raise ProtocolError("value nested too deeply")
        if d is None or isinstance(d, (bool, str)):
            return d
        if type(d) is int:
            return d
        if type(d) is float:
            return d
        if not isinstance(d, dict):
            raise ProtocolError(f"unexpected encoded value of type {type(d).__name__}")
        tag = d.get("$")
        decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
        if decoder is None:
            raise ProtocolError(f"unknown value tag {tag!r}")
        try:
            return decoder(self, d, depth)
        except ProtocolError:
            raise
        except _LookupFailed as failed:  # the student's own error, not a malformed message
            raise failed.error from None
        except (KeyError, TypeError, ValueError, RecursionError, AttributeError) as exc:
            raise ProtocolError(f"malformed value {tag!r}: {exc}") from None
        except ImportError as exc:
            raise ProtocolError(f"a value of kind {tag!r} needs {exc.name}") from None

    def _items(self, d, depth: int) -> list:
        return [(self.decode(k, depth + 1), self.decode(v, depth + 1)) for k, v in d["v"]]

    def _values(self, d, depth: int):
        return (self.decode(x, depth + 1) for x in d["v"])

    def _decode_deque(self, d, depth: int):
        maxlen = d.get("maxlen")
        if maxlen is not None and (type(maxlen) is not int or maxlen < 0):
            raise ProtocolError("bad deque length")
        return collections.deque(self._values(d, depth), maxlen)

    def _decode_record(self, d, depth: int):
        fields = {}
        for k, v in d["v"]:
            if not isinstance(k, str):
                raise ProtocolError("a field name must be a string")
            fields[k] = self.decode(v, depth + 1)
        return Record(clean_text(d["name"])[:200], fields)

    def _decode_iter(self, d, depth: int):
        items = list(self._values(d, depth))
        rest = d.get("rest")
        rest = None if rest is None else self.decode(rest, depth + 1)
        return StudentIterator(items, bool(d.get("more")), rest)

    def _decode_exctype(self, d, depth: int):
        if self.side != "t":
            raise ProtocolError("only the student process sends exception classes")
        return exception_class(d["mro"])

    def _decode_ref(self, d, depth: int):
        hid = int(d["id"])
        if d.get("side") == self.side:
            if hid not in self.handles:
                raise ProtocolError("reference to an unknown object")
            return self.handles[hid]
        key = hid if d.get("h") is None else (hid, _int(d["h"]))
        methods = None
        if self.side == "t" and d.get("c") is not None:
            cls_key = _int(d["c"])
            if d.get("m") is not None:
                names = d["m"]
                if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                    raise ProtocolError("malformed method names")
                self._class_methods[cls_key] = frozenset(names[:MAX_METHODS])
            methods = self._class_methods.get(cls_key)
        proxy = self._proxies.get(key)
        if proxy is None:
            kind = self.proxy_class
            if kind is TrustedCallable and d.get("h") is not None:
                kind = TrustedObject
            proxy = kind._make(self, hid, str(d.get("type", "?")))
            object.__setattr__(proxy, "_methods", methods)
            if kind is TrustedObject:
                handle = TrustedCallable._make(self, _int(d["h"]), "handle")
                object.__setattr__(proxy, "_handle", handle)
            self._proxies[key] = proxy
        return proxy

    def _decode_attr(self, d, depth: int):
        """A method the tests use without having fetched it (see :meth:`StudentObject.__getattr__`):
        looked up now, in the student process, exactly as ``getattr`` would have been."""
        if self.side != "w":
            raise ProtocolError("only the test process sends attribute references")
        owner, name = self.decode(d["of"], depth + 1), d["name"]
        if not isinstance(name, str):
            raise ProtocolError("malformed attribute reference")
        try:
            return getattr(owner, name)
        except BaseException as exc:  # noqa: BLE001 - the student's error, as getattr gives it
            raise _LookupFailed(exc) from None

    def _decode_pandas(self, d, depth: int):
        import pandas as pd

        def column(c):
            if isinstance(c, dict) and c.get("$") == "nd":
                return _array_from_payload(c)
            values = self.decode(c, depth + 2)
            if not isinstance(values, list):
                raise ProtocolError("a column must be a list or an array")
            return values

        def index(ix):
            return pd.Index(column(ix["v"]), name=self.decode(ix.get("name"), depth + 2))

        if d["$"] == "series":
            return pd.Series(
                column(d["v"]), index=index(d["index"]), name=self.decode(d.get("name"), depth + 1)
            )
        columns = [self.decode(c, depth + 1) for c in d["columns"]]
        data = [column(c) for c in d["v"]]
        if len(columns) != len(data):
            raise ProtocolError("a DataFrame needs one name per column")
        frame = pd.DataFrame(dict(enumerate(data)), index=index(d["index"]))
        frame.columns = pd.Index(columns) if columns else frame.columns
        return frame

    def error_from(self, err) -> BaseException:
        """Turn an error payload into an exception to raise locally.

        A built-in exception type is itself; from the student process, a class of an installed
        package that this process has already imported (``numpy.linalg.LinAlgError``) is that
        class, and a class the student defined is a subclass of :class:`RemoteError` of the
        same name (see :func:`exception_class`). Lookups are by dictionary only: a name the
        student sends never imports a module nor runs code of this process.
        """
        if not isinstance(err, dict):
            return ProtocolError("malformed error response")
        name = str(err.get("type", "Exception"))[:100]
        message = clean_text(str(err.get("msg", ""))[:MAX_TEXT])
        if name == "StopIteration":
            return StopIteration()
        mro = err.get("mro")
        cls = None
        if self.side == "t" and mro is not None:
            try:
                cls = exception_class(mro)
            except ProtocolError:
                cls = None
        if cls is None:
            cls = getattr(builtins, name, None)
            if not (isinstance(cls, type) and issubclass(cls, Exception)):
                cls = None
        exc = None
        if cls is not None and cls is not StopIteration:
            exc = _instantiate(cls, message)
        if exc is None:
            exc = RemoteError(f"{name}: {message}")
        exc.remote_traceback = str(err.get("tb", ""))[-MAX_TEXT:]
        return exc


_MAPPING_TAGS = {
    dict: "dict",
    collections.Counter: "counter",
    collections.OrderedDict: "odict",
}
_MAPPING_KINDS = {tag: kind for kind, tag in _MAPPING_TAGS.items()}


def _int(x) -> int:
    if type(x) is not int:
        raise ProtocolError("expected an integer")
    return x


def _plain_dtype(spec):
    np = _np()
    dtype = np.dtype(str(spec)[:40])
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject:
        raise ProtocolError(f"dtype {dtype} is not plain data")
    return dtype


def _plain_namedtuple(cls) -> bool:
    """A namedtuple class (``collections.namedtuple`` or ``typing.NamedTuple``) that adds no
    methods of its own: its instances are plain data."""
    try:
        if cls.__bases__ != (tuple,):
            return False
        fields = cls.__dict__.get("_fields")
        if not isinstance(fields, tuple) or not all(type(f) is str for f in fields):
            return False
        for key, value in cls.__dict__.items():
            if key not in _NAMEDTUPLE_OWN and key not in fields and callable(value):
                return False
        return True
    except Exception:  # noqa: BLE001 - the student's class: not one we can describe
        return False


_NAMEDTUPLE_OWN = {
    "__new__", "_make", "_replace", "__repr__", "_asdict", "__getnewargs__", "__init__",
    "__class_getitem__", "__orig_bases__",
}  # fmt: skip


def _is_dataclass_instance(obj) -> bool:
    try:
        return not isinstance(obj, type) and isinstance(
            type(obj).__dict__.get("__dataclass_fields__"), dict
        )
    except Exception:  # noqa: BLE001
        return False


def _is_iterator(obj) -> bool:
    """A generator, or an iterator of a builtin kind (``map``, ``zip``, ``itertools.count``)."""
    import types

    t = type(obj)
    if t is types.GeneratorType:
        return True
    return t.__module__ in ("builtins", "itertools") and hasattr(t, "__next__")


def _instantiate(cls, message: str):
    """An instance of exception class ``cls`` carrying ``message``, without running its
    ``__init__`` unless it is a class of ours or a built-in one (None if that fails)."""
    try:
        if issubclass(cls, RemoteError) or cls.__module__ == "builtins":
            return cls(message)
        exc = BaseException.__new__(cls, message)
        exc.args = (message,)
        return exc
    except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError needs 5 arguments
        return None


class Record:
    """A student's dataclass instance, by value: the class's name and the fields' values.

    Read-only. It equals another record of the same class name and fields, and a dataclass
    instance of this process with the same field names and values; equality is computed here,
    from data, whatever the student's class defines. ``isinstance`` against the student's
    class does not hold (that class lives in the other process).
    """

    __slots__ = ("_name", "_fields")

    def __init__(self, name: str, fields: dict):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name):
        fields = object.__getattribute__(self, "_fields")
        if name in fields:
            return fields[name]
        raise AttributeError(f"{object.__getattribute__(self, '_name')} has no field {name!r}")

    def __setattr__(self, name, value):
        raise AttributeError("a record of the student's dataclass is read-only")

    __delattr__ = __setattr__

    def _items(self):
        return list(object.__getattribute__(self, "_fields").items())

    def __eq__(self, other):
        mine = self._items()
        if isinstance(other, Record):
            same_class = object.__getattribute__(other, "_name") == self._name
            return same_class and mine == other._items()
        if _is_dataclass_instance(other):
            names = list(type(other).__dataclass_fields__)
            return [k for k, _ in mine] == names and [v for _, v in mine] == [
                getattr(other, k) for k in names
            ]
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((self._name, tuple(v for _, v in self._items())))

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self._items())
        return f"{self._name}({inner})"

    def _asdict(self) -> dict:
        return dict(self._items())


class StudentIterator:
    """A student's generator or iterator, run in the student process when it crosses: to its
    end, at most :data:`MAX_ITEMS` items (iterating past them raises instead of ending early:
    it may never end), or, when its items are slow to come, for :data:`ITER_SECONDS`, the
    rest then fetched one at a time from the student process (``rest``), up to the same
    total."""

    __slots__ = ("_items", "_pos", "_more", "_rest", "_count")

    def __init__(self, items: list, more: bool, rest=None):
        self._items, self._pos, self._more, self._rest = items, 0, more, rest
        self._count = len(items)

    def __iter__(self):
        return self

    def __next__(self):
        if self._pos < len(self._items):
            self._pos += 1
            return self._items[self._pos - 1]
        if self._rest is not None and self._count < MAX_ITEMS:
            rest = self._rest
            try:
                item = rest._op("next", rest) if isinstance(rest, StudentObject) else next(rest)
            except StopIteration:
                self._rest = None
                raise
            self._count += 1
            return item
        if self._more or self._rest is not None:
            raise RuntimeError(
                f"the iterator produced more than {MAX_ITEMS} items (it may never end); "
                "only the first ones reached the test"
            )
        raise StopIteration

    def __repr__(self):
        return f"<iterator of the student's code ({len(self._items)} items)>"


# -- classes by name -----------------------------------------------------------------------------
MAX_CLASSES = 1000  # classes made here for the student's names, per process
_CLASSES: dict[tuple, type] = {}
_GRADER_MODULES = ("dlcourse_grader", "_wire", "_worker", "__main__", "tester")


def class_mro(cls) -> list[list[str]]:
    """The names (module, qualified name) of a class and its bases, most derived first."""
    names = []
    for c in type.__getattribute__(cls, "__mro__")[:20]:
        module = type.__getattribute__(c, "__module__")
        qualname = type.__getattribute__(c, "__qualname__")
        names.append([clean_text(module)[:200], clean_text(qualname)[:200]])
    return names


def known_class(module: str, qualname: str):
    """A class of this process named ``module``/``qualname``, found by dictionary lookups
    only (no import, no module ``__getattr__``, no descriptor); None if there is none."""
    if module == "builtins":
        obj = vars(builtins).get(qualname)
        return obj if isinstance(obj, type) else None
    if module.split(".")[0] in _GRADER_MODULES:
        return None
    obj = sys.modules.get(module)
    if obj is None:
        return None
    for part in qualname.split("."):
        space = object.__getattribute__(obj, "__dict__") if part else None
        if space is None or part == "<locals>":
            return None
        obj = space.get(part)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def exception_class(mro) -> type:
    """The class of this process for a student's exception class named by its MRO.

    The first class of the MRO that this process knows (a built-in exception, or one of a
    package already imported here) is used as it is; each class the student defined (in the
    notebook, or in a module of theirs) becomes a subclass of :class:`RemoteError` and of its
    parent, with the same name, made once per process, so that a test's ``except
    ScaleError`` (``ScaleError`` read from the student's namespace) catches it.
    """
    if not isinstance(mro, list) or not mro or len(mro) > 20:
        raise ProtocolError("malformed class description")
    names = []
    for entry in mro:
        if not (
            isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)
        ):
            raise ProtocolError("malformed class description")
        names.append((entry[0][:200], entry[1][:200]))
    parent, own = Exception, names
    for i, (module, qualname) in enumerate(names):
        cls = known_class(module, qualname)
        if cls is not None and issubclass(cls, BaseException):
            parent, own = (cls if issubclass(cls, Exception) else Exception), names[:i]
            break
    for module, qualname in reversed(own):
        parent = _student_class(module, qualname, parent)
    return parent


def _student_class(module: str, qualname: str, parent: type) -> type:
    key = (module, qualname, parent)
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    if len(_CLASSES) >= MAX_CLASSES:
        return parent if issubclass(parent, RemoteError) else RemoteError
    name = qualname.rsplit(".", 1)[-1] or "StudentError"
    body = {"__module__": module, "__qualname__": qualname, "__doc__": None}
    if issubclass(parent, RemoteError):
        bases = (parent,)
    elif parent is Exception:
        bases = (RemoteError,)
    else:
        bases = (RemoteError, parent)
    try:
        cls = type(name, bases, body)
    except TypeError:  # a layout conflict with the built-in parent
        cls = type(name, (RemoteError,), body)
    _CLASSES[key] = cls
    return cls


def namedtuple_class(name, fields) -> type:
    """The namedtuple class of this process for a student's (one per name and fields)."""
    if not isinstance(name, str) or not isinstance(fields, list) or len(fields) > 1000:
        raise ProtocolError("malformed namedtuple")
    if not all(isinstance(f, str) for f in fields):
        raise ProtocolError("malformed namedtuple")
    key = ("namedtuple", name, tuple(fields))
    cls = _CLASSES.get(key)
    if cls is None:
        if len(_CLASSES) >= MAX_CLASSES:
            raise ProtocolError("too many classes")
        # collections.namedtuple checks that every name is an identifier and no keyword
        cls = collections.namedtuple(name, fields)
        _CLASSES[key] = cls
    return cls


def parse_message(data: bytes) -> dict:
    """Decode one message's bytes, within :data:`MAX_OBJECTS` containers; strings come out as
    valid Unicode (lone surrogates replaced)."""
    containers = data.count(b"{") + data.count(b"[")  # counts brackets in strings too: a bound
    if containers > MAX_OBJECTS:
        raise ProtocolError(
            f"message holds up to {containers} JSON objects, more than the limit of {MAX_OBJECTS}"
        )
    try:
        msg = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"unreadable message: {str(exc)[:200]}") from None
    if _SURROGATE_ESCAPE.search(data):
        try:
            msg = _clean_tree(msg)
        except RecursionError:
            raise ProtocolError("message nested too deeply") from None
    if not isinstance(msg, dict) or msg.get("k") not in ("req", "res"):
        raise ProtocolError("a message must be a request or a response")
    return msg


def _decode_decimal(ep, d, depth):
    import decimal

    return decimal.Decimal(str(d["v"])[:MAX_TEXT])


def _decode_fraction(ep, d, depth):
    import fractions

    n, m = (_int(x) for x in d["v"])
    return fractions.Fraction(n, m)


def _decode_tdtype(ep, d, depth):
    import torch

    value = getattr(torch, str(d["v"]))
    if not isinstance(value, torch.dtype):
        raise ProtocolError("not a torch dtype")
    return value


def _decode_tensor(ep, d, depth):
    import torch

    t = torch.from_numpy(_array_from_payload(d))
    return t.requires_grad_(True) if d.get("requires_grad") and t.is_floating_point() else t


def _decode_bytes(ep, d, depth):
    raw = base64.b64decode(d["b64"], validate=True)
    return raw if d["$"] == "bytes" else bytearray(raw)


def _decode_dtype(ep, d, depth):
    dtype = _plain_dtype(d["v"])
    return dtype.type if d["$"] == "nptype" else dtype


def _decode_ddict(ep, d, depth):
    factory = d.get("f")
    factory = _BUILTIN_TYPES[factory] if factory is not None else None
    return collections.defaultdict(factory, ep._items(d, depth))


def _decode_range(ep, d, depth):
    start, stop, step = (_int(x) for x in d["v"])
    return range(start, stop, step)


def _mapping_decoder(kind):
    return lambda ep, d, depth: kind(dict(ep._items(d, depth)))


_UNKNOWN = object()  # an encoder stage's answer for a value it does not know

#: How each tagged value is rebuilt: ``decoder(endpoint, encoded, depth)``.
_DECODERS = {
    "float": lambda ep, d, depth: float(d["v"]),
    "complex": lambda ep, d, depth: complex(float(d["re"]), float(d["im"])),
    "list": lambda ep, d, depth: list(ep._values(d, depth)),
    "tuple": lambda ep, d, depth: tuple(ep._values(d, depth)),
    "set": lambda ep, d, depth: set(ep._values(d, depth)),
    "frozenset": lambda ep, d, depth: frozenset(ep._values(d, depth)),
    **{tag: _mapping_decoder(kind) for tag, kind in _MAPPING_KINDS.items()},
    "ddict": _decode_ddict,
    "deque": Endpoint._decode_deque,
    "range": _decode_range,
    "bytes": _decode_bytes,
    "bytearray": _decode_bytes,
    "slice": lambda ep, d, depth: slice(*ep._values(d, depth)),
    "ellipsis": lambda ep, d, depth: Ellipsis,
    "decimal": _decode_decimal,
    "fraction": _decode_fraction,
    "btype": lambda ep, d, depth: _BUILTIN_TYPES[d["v"]],
    "nptype": _decode_dtype,
    "dtype": _decode_dtype,
    "tdtype": _decode_tdtype,
    "ntuple": lambda ep, d, depth: namedtuple_class(d["name"], d["fields"])._make(
        ep._values(d, depth)
    ),
    "ntclass": lambda ep, d, depth: namedtuple_class(d["name"], d["fields"]),
    "record": Endpoint._decode_record,
    "attr": Endpoint._decode_attr,
    "iter": Endpoint._decode_iter,
    "exctype": Endpoint._decode_exctype,
    "frame": Endpoint._decode_pandas,
    "series": Endpoint._decode_pandas,
    "nd": lambda ep, d, depth: _array_from_payload(d),
    "npscalar": lambda ep, d, depth: _array_from_payload(d)[()],
    "tensor": _decode_tensor,
    "ref": Endpoint._decode_ref,
}


def error_payload(exc: BaseException, with_traceback: bool = True) -> dict:
    """Describe an exception for the other end.

    The trusted end (``with_traceback=False``) sends only the exception's type name and a
    generic message: its text or traceback could quote hidden test code or expected values.
    """
    if not with_traceback:
        name = type(exc).__name__
        if getattr(builtins, name, None) is not type(exc):  # a test's own class: not its name
            name = "Exception"
        return {"type": name, "msg": TRUSTED_ERROR}
    try:
        msg = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__
        msg = "<unprintable>"
    payload = {"type": type(exc).__name__, "msg": msg[:MAX_TEXT]}
    try:
        payload["mro"] = class_mro(type(exc))
    except Exception:  # noqa: BLE001 - a class that hides its names: by its name only
        pass
    try:
        printed = vars(exc).get("_wire_printed")
    except Exception:  # noqa: BLE001
        printed = None
    if isinstance(printed, dict):
        payload["printed"] = {
            k: clean_text(printed.get(k, ""))[:PRINTED_LIMIT] for k in ("out", "err")
        }
    if with_traceback:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        payload["tb"] = tb[-MAX_TEXT:]
    return payload


# -- proxies -------------------------------------------------------------------------------------
class _ProxyBase:
    """A reference to an object living in the other process."""

    __slots__ = ("_ep", "_id", "_type", "_attr", "_methods", "__weakref__")

    @classmethod
    def _make(cls, ep: Endpoint, hid, type_name: str, attr=None):
        proxy = object.__new__(cls)
        object.__setattr__(proxy, "_ep", ep)
        object.__setattr__(proxy, "_id", hid)
        object.__setattr__(proxy, "_type", type_name)
        object.__setattr__(proxy, "_attr", attr)  # (owner proxy, name) of an unfetched method
        object.__setattr__(proxy, "_methods", None)  # names of its class's plain methods
        return proxy

    def _call(self, op: str, args: tuple, kwargs: dict):
        """Ask the owner to call the object with these arguments (request ``op``)."""
        ep = object.__getattribute__(self, "_ep")
        return ep.request(
            op, fn=ep.encode(self), args=ep.encode(list(args)), kwargs=ep.encode(kwargs)
        )


MAX_METHODS = 2000  # method names taken per class
# ``obj.method(...)`` as one message (see StudentObject.__getattr__); DLCOURSE_WIRE_FUSE=0 turns
# it off, so that ``make bench`` can measure both ways in one run
FUSE_METHOD_CALLS = os.environ.get("DLCOURSE_WIRE_FUSE", "1") != "0"


class _LookupFailed(Exception):
    """Carries the student's exception out of :meth:`Endpoint.decode` unchanged."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error


def plain_methods(cls) -> list[str]:
    """Names of the plain functions of ``cls`` and its bases (what ``obj.name`` gives as a bound
    method), without special names, and none for a class that customizes attribute access
    (its ``__getattribute__`` could answer anything)."""
    try:
        if cls.__getattribute__ is not object.__getattribute__:
            return []
        names, seen = [], set()
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if name in seen or not isinstance(name, str):
                    continue
                seen.add(name)  # a subclass's attribute hides its bases' of the same name
                plain = isinstance(value, types.FunctionType)
                if plain and not (name.startswith("__") and name.endswith("__")):
                    names.append(name)
        return names[:MAX_METHODS]
    except Exception:  # noqa: BLE001 - a class whose metaclass misbehaves: no shortcut
        return []


_FORWARDED_DUNDERS = {
    "__code__", "__name__", "__qualname__", "__doc__", "__module__", "__defaults__",
    "__kwdefaults__", "__annotations__", "__wrapped__", "__dict__",
}  # fmt: skip


class StudentObject(_ProxyBase):
    """What the trusted end holds for a student object: every operation is forwarded, except
    comparisons (identity equality, no ordering), so that no object can claim to equal a value."""

    __slots__ = ()
    __array_priority__ = 1000.0  # NumPy defers binary operators to us (then to the student)

    def _op(self, name: str, *args):
        ep = object.__getattribute__(self, "_ep")
        return ep.request("op", name=name, args=ep.encode(list(args)))

    def __getattr__(self, name):
        # Special names are not forwarded (e.g. ``__array_interface__`` would let a student
        # object point NumPy at arbitrary memory here), except a few harmless ones tests read.
        if name.startswith("__") and name.endswith("__") and name not in _FORWARDED_DUNDERS:
            raise AttributeError(name)
        methods = object.__getattribute__(self, "_methods")
        if methods is not None and name in methods and FUSE_METHOD_CALLS:
            # A method of the object's class: no round trip now. The proxy names (self, name)
            # and the student process looks the method up when the proxy is used, so that
            # ``obj.method(...)`` is one message instead of two.
            ep = object.__getattribute__(self, "_ep")
            hid = ("attr", object.__getattribute__(self, "_id"), name)
            return StudentObject._make(ep, hid, "method", attr=(self, name))
        return self._op("getattr", self, name)

    def __setattr__(self, name, value):
        self._op("setattr", self, name, value)

    def __delattr__(self, name):
        self._op("delattr", self, name)

    def __call__(self, *args, **kwargs):
        reply = self._call("call", args, kwargs)
        if not (isinstance(reply, list) and len(reply) in (2, 3) and isinstance(reply[1], list)):
            raise ProtocolError("malformed call result")
        result, changed = reply[:2]
        if len(reply) > 2:
            emit_printed(reply[2])
        for where, new in changed:  # arrays and lists the student function modified in place
            old = args[where] if isinstance(where, int) else kwargs[where]
            write_back(old, new)
        return result

    def __repr__(self):
        try:
            text = self._op("repr", self)
        except Exception:  # noqa: BLE001
            text = None
        typ = object.__getattribute__(self, "_type")
        return text[:MAX_TEXT] if isinstance(text, str) else f"<student {typ} object>"

    __str__ = __repr__

    def __format__(self, spec):
        return format(str(self), spec) if not spec else format(self._checked("float", float), spec)

    def _checked(self, name, kind):
        value = self._op(name, self)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{name}() of a student object returned {type(value).__name__}")
        return value

    def __float__(self):
        return self._checked("float", float)

    def __int__(self):
        return self._checked("int", int)

    def __index__(self):
        return self._checked("index", int)

    def __complex__(self):
        return complex(self._op("complex", self))

    def __bool__(self):
        return self._checked("bool", bool)

    def __len__(self):
        return self._checked("len", int)

    def __hash__(self):
        return hash(("student-object", object.__getattribute__(self, "_id")))

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def _no_order(self, other):
        typ = object.__getattribute__(self, "_type")
        raise TypeError(
            f"your code returned an object of type {typ!r} where a number or an array was "
            "expected; tests cannot order it"
        )

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __array__(self, dtype=None, copy=None):
        value = self._op("array", self)
        np = _np()
        if not isinstance(value, np.ndarray):
            raise TypeError("student object did not convert to an array")
        return value.astype(dtype) if dtype is not None else value

    def __iter__(self):
        it = self._op("iter", self)
        while True:
            try:
                yield it._op("next", it) if isinstance(it, StudentObject) else next(it)
            except StopIteration:
                return

    def __contains__(self, item):
        return bool(self._op("contains", self, item))

    def __getitem__(self, key):
        return self._op("getitem", self, key)

    def __setitem__(self, key, value):
        self._op("setitem", self, key, value)

    def __delitem__(self, key):
        self._op("delitem", self, key)

    def __neg__(self):
        return self._op("neg", self)

    def __pos__(self):
        return self._op("pos", self)

    def __abs__(self):
        return self._op("abs", self)

    def __invert__(self):
        return self._op("invert", self)


_BINARY = [
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow",
    "lshift", "rshift", "and", "xor", "or",
]  # fmt: skip


def _binary(name):
    def forward(self, other):
        return self._op(name, self, other)

    def reflected(self, other):
        return self._op(name, other, self)

    def inplace(self, other):
        return self._op("i" + name, self, other)

    return forward, reflected, inplace


for _name in _BINARY:
    _f, _r, _i = _binary(_name)
    setattr(StudentObject, f"__{_name}__", _f)
    setattr(StudentObject, f"__r{_name}__", _r)
    setattr(StudentObject, f"__i{_name}__", _i)


class TrustedCallable(_ProxyBase):
    """What the student end holds for a function the tests passed in: it can only be called."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._call("callback", args, kwargs)

    def __repr__(self):
        return "<function passed in by the tests>"


class TrustedObject(TrustedCallable):
    """What the student end holds for another object the tests passed in (an Axes, an
    optimizer, an estimator): its public attributes can be read and set, its public methods
    called, items read; each operation is a callback served by the object's handle in the
    test process (see :class:`_TrustedHandle`)."""

    __slots__ = ("_handle",)

    def _do(self, op: str, *args, **kwargs):
        handle = object.__getattribute__(self, "_handle")
        ep = object.__getattribute__(handle, "_ep")
        return ep.request(
            "callback", fn=ep.encode(handle), args=ep.encode([op, *args]), kwargs=ep.encode(kwargs)
        )

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._do("getattr", name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            raise AttributeError(name)
        self._do("setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._do("call", *args, **kwargs)

    def __getitem__(self, key):
        return self._do("getitem", key)

    def __len__(self):
        value = self._do("len")
        if type(value) is not int:
            raise TypeError("len() did not return an integer")
        return value

    def __iter__(self):
        return iter(self._do("list"))

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_type')} object passed in by the tests>"


class TrustedRef:
    """Marks a value of the tests to be sent as a :class:`TrustedObject` reference."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _object_by_reference(obj) -> bool:
    """Whether an object of the tests that is not plain data goes to the student process as a
    :class:`TrustedObject`: not a function (those are :class:`TrustedCallable`), a module, a
    class or a proxy."""
    import types

    if isinstance(obj, (type, types.ModuleType, _ProxyBase, types.FunctionType)):
        return False
    if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
        return False
    return not type(obj).__module__.startswith(("dlcourse_grader", "_wire"))


_GUARD = {"depth": 0, "hook": False}
_GUARDED_EVENTS = (
    "shutil.", "subprocess.", "socket.", "ctypes.", "pty.", "webbrowser.", "urllib.", "http.",
    "ftplib.", "smtplib.", "sqlite3.", "winreg.", "tempfile.", "fcntl.", "mmap.",
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
    "os.link", "os.symlink", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.kill", "os.putenv", "os.unsetenv", "os.chdir", "os.utime", "os.chflags",
    "os.setxattr", "os.removexattr", "os.startfile", "os.add_dll_directory",
)  # fmt: skip


def _guard_hook(event: str, args) -> None:
    """While an operation on a trusted object runs: no process, socket, file change, and no
    file opened except for reading inside the Python installation (lazy imports)."""
    if not _GUARD["depth"]:
        return
    if event == "open" and _allowed_open(args):
        return
    if event == "open" or event.startswith(_GUARDED_EVENTS):
        raise PermissionError(
            f"an object the tests passed in cannot do this for your code ({event})"
        )


def _allowed_open(args) -> bool:
    path, mode = (args[0], args[1]) if len(args) >= 2 else (None, None)
    if isinstance(path, int) or not isinstance(path, (str, bytes, os.PathLike)):
        return False
    if mode is not None and (not isinstance(mode, str) or set(mode) & set("wax+")):
        return False
    if isinstance(args[2] if len(args) > 2 else 0, int) and (
        (args[2] if len(args) > 2 else 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    ):
        return False
    full = os.path.realpath(os.fsdecode(path))
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return any(full.startswith(root + os.sep) for root in roots)


def _reachable(obj) -> bool:
    """Whether an object reached through a trusted object (an attribute, a method's result)
    may go to the student process, as a guarded reference: not a module, a class, a free
    function or a method of a module or class."""
    import types

    if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.CodeType, _ProxyBase)):
        return False
    if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
        owner = getattr(obj, "__self__", None)
        return owner is not None and not isinstance(owner, (type, types.ModuleType))
    return True


def _refuse_student_objects(value, depth: int = 0) -> None:
    """Refuse to hand a student object to a trusted object's method or attribute: stored
    there (a fake estimator in a pipeline, a method replaced), it would answer the test."""
    if isinstance(value, _ProxyBase):
        raise PermissionError("only plain data can be given to an object the tests passed in")
    if depth < 20 and type(value) in (list, tuple, set, frozenset):
        for x in value:
            _refuse_student_objects(x, depth + 1)
    elif depth < 20 and isinstance(value, dict):
        for k, v in value.items():
            _refuse_student_objects(k, depth + 1)
            _refuse_student_objects(v, depth + 1)


class _TrustedHandle:
    """Serves the operations of a :class:`TrustedObject` in the test process.

    Only public names (no leading underscore); what comes back is plain data or another
    reference, never a module, class or free function; while an operation runs, an audit hook
    refuses opening files, processes, sockets and the ``os`` module's operations (an Axes'
    ``savefig``, a path's ``read_text``), so that an object passed in cannot be used to read
    the course or write outside the sandbox.
    """

    __slots__ = ("obj", "free_call")

    def __init__(self, obj, free_call: bool):
        self.obj, self.free_call = obj, free_call

    def __call__(self, op, *args, **kwargs):
        if op == "call" and self.free_call:  # as a function the tests passed in
            return TrustedRef(self.obj(*args, **kwargs))
        if not _GUARD["hook"]:
            sys.addaudithook(_guard_hook)
            _GUARD["hook"] = True
        _GUARD["depth"] += 1
        try:
            return self._serve(op, args, kwargs)
        finally:
            _GUARD["depth"] -= 1

    def _serve(self, op, args, kwargs):
        obj = self.obj
        _refuse_student_objects([args, kwargs])
        if op in ("getattr", "setattr"):
            name = args[0] if args else None
            if not isinstance(name, str) or name.startswith("_"):
                raise AttributeError("only public attributes can be used")
            if op == "getattr":
                return TrustedRef(getattr(obj, name))
            if len(args) != 2 or callable(args[1]) or callable(getattr(obj, name, None)):
                raise PermissionError("a method of an object the tests passed in cannot be set")
            setattr(obj, name, args[1])
            return None
        if op == "call":
            return TrustedRef(obj(*args, **kwargs))
        if op == "getitem" and len(args) == 1:
            return TrustedRef(obj[args[0]])
        if op == "len":
            return len(obj)
        if op == "list":
            items = []
            for x in obj:
                if len(items) >= MAX_ITEMS:
                    break
                items.append(x)
            return TrustedRef(items)
        raise ValueError(f"unknown operation {op!r}")


# -- operations the student end performs for the trusted end ------------------------------------
_UNARY_OPS = {
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
    "float": float,
    "int": int,
    "index": operator.index,
    "complex": complex,
    "bool": bool,
    "len": len,
    "iter": iter,
    "next": next,
}


def apply_op(name: str, args: list):
    """Perform operation ``name`` on decoded arguments (in the student process)."""
    if name in _UNARY_OPS and len(args) == 1:
        return _UNARY_OPS[name](args[0])
    if name == "repr" and len(args) == 1:
        return repr(args[0])[:MAX_TEXT]
    if name == "array" and len(args) == 1:
        np = _np()
        a = args[0]
        if _is_tensor(a):
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(
                f"an object of type {type(args[0]).__name__} is not an array of numbers"
            )
        return a
    if name == "getattr" and len(args) == 2:
        return getattr(args[0], args[1])
    if name == "setattr" and len(args) == 3:
        return setattr(args[0], args[1], args[2])
    if name == "delattr" and len(args) == 2:
        return delattr(args[0], args[1])
    if name == "getitem" and len(args) == 2:
        return args[0][args[1]]
    if name == "setitem" and len(args) == 3:
        args[0][args[1]] = args[2]
        return None
    if name == "delitem" and len(args) == 2:
        del args[0][args[1]]
        return None
    if name == "contains" and len(args) == 2:
        return args[1] in args[0]
    if name in _BINARY and len(args) == 2:
        return getattr(operator, name + "_" if name in ("and", "or") else name)(*args)
    if name[:1] == "i" and name[1:] in _BINARY and len(args) == 2:
        return getattr(operator, name)(*args)
    raise ValueError(f"unknown operation {name!r}")


def emit_printed(printed) -> None:
    """Write what a student's function printed during a call to this process's current
    ``sys.stdout``/``sys.stderr`` (a test's ``redirect_stdout``, capsys); stderr only when a
    test redirected it (not into the grader's log)."""
    if not isinstance(printed, dict):
        return
    for key, stream in (("out", sys.stdout), ("err", sys.stderr)):
        text = printed.get(key)
        if not isinstance(text, str) or not text or stream is None:
            continue
        if key == "err" and stream is sys.__stderr__:
            continue
        try:
            stream.write(clean_text(text)[:PRINTED_LIMIT])
        except Exception:  # noqa: BLE001 - a closed or odd stream: the text is dropped
            pass


_MUTABLE = (list, dict, set, bytearray, collections.deque, collections.Counter,
            collections.OrderedDict, collections.defaultdict)  # fmt: skip


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))


def _copy(value, depth: int = 0):
    t = type(value)
    if t in _IMMUTABLE:
        return value
    if t is list and all(type(x) in _IMMUTABLE for x in value):
        return list(value)
    np = _np()
    if isinstance(value, np.ndarray):
        return value.copy()
    if depth > 50 or t not in _MUTABLE:
        return value
    if t in (set, bytearray):
        return t(value)
    if t is collections.deque:
        return collections.deque((_copy(x, depth + 1) for x in value), value.maxlen)
    if t is list:
        return [_copy(x, depth + 1) for x in value]
    items = [(k, _copy(v, depth + 1)) for k, v in value.items()]
    if t is collections.defaultdict:
        return collections.defaultdict(value.default_factory, items)
    return t(dict(items))


def snapshot(value):
    """A deep copy of an argument that a call might modify in place (arrays, lists, dicts,
    sets, deques, bytearrays and containers of them), else None."""
    np = _np()
    if isinstance(value, np.ndarray) or type(value) in _MUTABLE:
        return _copy(value)
    return None


def _same(before, after, depth: int = 0) -> bool:
    if before is after and type(before) in _IMMUTABLE:
        return True
    if type(before) is list and type(after) is list and len(before) == len(after):
        if all(type(x) in _IMMUTABLE for x in before) and before == after:
            return True  # a flat list of plain values: compared at C speed
    np = _np()
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and before.tobytes() == after.tobytes()
        )
    if before is after:
        return True
    if type(before) is not type(after) or depth > 50:
        return False
    if type(before) in (list, collections.deque, tuple):
        return len(before) == len(after) and all(
            _same(x, y, depth + 1) for x, y in zip(before, after, strict=True)
        )
    if isinstance(before, dict):
        return list(before) == list(after) and all(
            _same(v, after[k], depth + 1) for k, v in before.items()
        )
    try:
        return bool(before == after)
    except Exception:  # noqa: BLE001 - elements with odd comparisons: assume changed
        return False


def changed_since(before, after) -> bool:
    return not _same(before, after)


def write_back(old, new, depth: int = 0) -> bool:
    """Apply a student's in-place change of an argument to the trusted original, recursively
    (the test's own inner lists, dicts and arrays keep their identity); False when ``old``
    cannot take ``new`` in place (the caller then replaces it)."""
    np = _np()
    if isinstance(old, np.ndarray):
        if isinstance(new, np.ndarray) and old.shape == new.shape and old.flags.writeable:
            np.copyto(old, new, casting="unsafe")
            return True
        return False
    if depth > 50:
        return False
    if type(old) is list and type(new) is list:
        if len(old) == len(new):
            for i, x in enumerate(new):
                if not write_back(old[i], x, depth + 1):
                    old[i] = x
        else:
            old[:] = new
        return True
    if isinstance(old, dict) and type(old) in _MUTABLE and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            if not (key in old and write_back(old[key], value, depth + 1)):
                old[key] = value
        return True
    if type(old) is set and isinstance(new, (set, frozenset)):
        old.clear()
        old.update(new)
        return True
    if type(old) is collections.deque and isinstance(new, collections.deque):
        old.clear()
        old.extend(new)
        return True
    if type(old) is bytearray and isinstance(new, (bytes, bytearray)):
        old[:] = new
        return True
    return False
