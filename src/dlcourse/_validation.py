"""Argument validation for the whole of :mod:`dlcourse` (private).

Every public function of the package checks its arguments at the door through this module
and nowhere else, so that the same mistake reads the same everywhere. One error class,
:class:`InvalidParameterError`, is both a ``ValueError`` and a ``TypeError`` (callers that
catch either keep working), and one message template names the argument, the function, the
rule and the value::

    The 'steps' argument of pgd must be an integer >= 1. Got 0 instead.

The function name is found by walking up the call stack, and only when a check fails, so a
passing check costs one ``isinstance`` and a comparison. The shape of the module follows
scikit-learn's ``utils/validation.py`` (``check_scalar``) and ``utils/_param_validation.py``
(``InvalidParameterError`` and the message template).

``dlcourse.checks`` is a different thing: the answer checks used by assignment test cells.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "InvalidParameterError",
    "invalid",
    "message",
    "check_scalar",
    "check_option",
    "check_reduction",
    "check_callable",
    "check_type",
    "check_ndim",
    "check_pair",
    "as_float_array",
    "as_tensor",
    "as_array_or_tensor",
    "as_image_batch",
    "check_seed",
    "check_torch_seed",
    "renamed_kwargs",
]

REDUCTIONS = ("mean", "sum", "none")
_F = TypeVar("_F", bound=Callable[..., Any])


class InvalidParameterError(ValueError, TypeError):
    """An argument of a :mod:`dlcourse` function has a wrong type or value.

    Subclasses both ``ValueError`` and ``TypeError``, so ``except ValueError`` and
    ``except TypeError`` (and ``pytest.raises`` of either) both catch it.
    """


# --------------------------------------------------------------------------- the template
def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _describe(value: Any) -> str:
    """What the user passed: the repr for small things, shape and dtype for arrays."""
    if isinstance(value, np.ndarray) or _is_torch(value):
        kind = "tensor" if _is_torch(value) else "array"
        if value.ndim == 0 or (value.ndim == 1 and value.shape[0] <= 6):
            return repr(value)
        return f"a {kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 80:
        text = f"{text[:60]}... (a {type(value).__name__})"
    return text


_SKIP_MODULES = ("dlcourse.checks",)


def _caller_name() -> str | None:
    """The public :mod:`dlcourse` function (or class) whose argument is being checked.

    Walks up from the failing check to the outermost frame of the package that the user
    called (so ``pgd`` is named, not the ``PGD`` it builds), skipping private modules and
    helpers (``_checks``, ``_prepare``, ``_Problem``); a method reads ``Class.method`` with
    the instance's own class, and ``__init__``/``__call__`` read as the class. ``check_*``
    and ``as_*`` helpers are named only when nothing public called them. Returns None when
    the check was called from outside the package.
    """
    frame = sys._getframe(1)
    found = helper = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("dlcourse"):
            break
        code = frame.f_code
        name = code.co_name
        if not (module.rsplit(".", 1)[-1].startswith("_") or module in _SKIP_MODULES):
            if code.co_argcount and code.co_varnames[0] == "self":
                cls = type(frame.f_locals.get("self")).__name__  # the subclass, e.g. PGD
                qual = cls if name in ("__init__", "__call__") else f"{cls}.{name}"
            else:
                qual = getattr(code, "co_qualname", name).replace(".<locals>", "")
            if not any(p.startswith("_") and not p.endswith("__") for p in qual.split(".")):
                if name.startswith(("check_", "as_", "prepare")):
                    helper = helper or qual
                else:
                    found = qual
        frame = frame.f_back
    return found or helper


def message(name: str, expected: str, value: Any, caller: str | None = None) -> str:
    """The one message template of the package.

    >>> message("steps", "an integer >= 1", 0, caller="pgd")
    "The 'steps' argument of pgd must be an integer >= 1. Got 0 instead."
    """
    where = f" of {caller}" if caller else ""
    return f"The '{name}' argument{where} must be {expected}. Got {_describe(value)} instead."


def invalid(
    name: str, expected: str, value: Any = None, caller: str | None = None, *, got: str = ""
) -> InvalidParameterError:
    """Build (not raise) the error for argument ``name``: ``raise invalid(...) from None``.

    The caller is inferred from the stack when not given. ``got``, when given, describes
    what came instead of ``repr(value)`` (e.g. ``"shape (3, 4)"`` or ``"dtype int64"``).
    """
    if caller is None:
        caller = _caller_name()
    return InvalidParameterError(message(name, expected, _Raw(got) if got else value, caller))


# --------------------------------------------------------------------------- scalars
def _fmt(v: float) -> str:
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


def _rule(kind_text: str, low: Any, high: Any, closed: str) -> str:
    left = closed in ("both", "left")
    right = closed in ("both", "right")
    if low is not None and high is not None:
        opening, closing = "[" if left else "(", "]" if right else ")"
        return f"{kind_text} in {opening}{_fmt(low)}, {_fmt(high)}{closing}"
    if low is not None:
        return f"{kind_text} {'>=' if left else '>'} {_fmt(low)}"
    if high is not None:
        return f"{kind_text} {'<=' if right else '<'} {_fmt(high)}"
    return kind_text


_KINDS = {int: "an integer", float: "a real number", bool: "a bool"}


def check_scalar(
    value: Any,
    name: str,
    kind: type,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
    allow_inf: bool = False,
    caller: str | None = None,
) -> Any:
    """Check a scalar argument and return it as a Python ``int``, ``float`` or ``bool``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, as the user wrote it.
    kind : {int, float, bool}
        ``int``: an integer (Python or NumPy), not a bool. ``float``: a real number; ints
        are accepted, bools refused, and so is a one-element array or tensor. ``bool``: a
        Python or NumPy bool.
    low, high : float, optional
        Bounds of the allowed interval.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.
    allow_inf : bool
        For ``kind=float``: accept ``math.inf`` (NaN is always refused).
    caller : str, optional
        The function to name in the message; inferred from the stack when omitted.

    Examples
    --------
    >>> check_scalar(3, "steps", int, low=1)
    3
    >>> try:
    ...     check_scalar(0, "steps", int, low=1, caller="pgd")
    ... except InvalidParameterError as err:
    ...     print(err)
    The 'steps' argument of pgd must be an integer >= 1. Got 0 instead.
    """
    if kind is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise invalid(name, "a bool", value, caller)
    expected = _rule(_KINDS[kind], low, high, closed)
    if kind is int:
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise invalid(name, expected, value, caller)
        v: Any = int(value)
    elif kind is float:
        v = value
        if (isinstance(v, np.ndarray) or _is_torch(v)) and v.ndim <= 1 and v.shape in ((), (1,)):
            v = v.reshape(-1)[0].item()
        if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)):
            raise invalid(name, expected, value, caller)
        v = float(v)
        if math.isnan(v) or (math.isinf(v) and not allow_inf):
            raise invalid(name, expected if allow_inf else f"{expected} (finite)", value, caller)
    else:
        raise ValueError(f"check_scalar: unknown kind {kind!r}")  # a bug in dlcourse itself
    if closed not in ("both", "left", "right", "neither"):
        raise ValueError(f"check_scalar: unknown closed={closed!r}")  # a bug in dlcourse
    left = closed in ("both", "left")
    right = closed in ("both", "right")
    if low is not None and (v < low or (v == low and not left)):
        raise invalid(name, expected, value, caller)
    if high is not None and (v > high or (v == high and not right)):
        raise invalid(name, expected, value, caller)
    return v


def check_option(value: Any, name: str, options: Iterable[Any], caller: str | None = None) -> Any:
    """Check that ``value`` is one of ``options``; return it.

    >>> try:
    ...     check_option("avg", "reduction", ("mean", "sum"), caller="f")
    ... except InvalidParameterError as err:
    ...     print(err)
    The 'reduction' argument of f must be one of 'mean', 'sum'. Got 'avg' instead.
    """
    options = tuple(options)
    for option in options:
        # type-strict: True is not the option 1, 2.0 is not the option "2"
        if type(value) is type(option) and value == option:
            return value
    raise invalid(name, "one of " + ", ".join(repr(o) for o in options), value, caller)


def check_reduction(reduction: Any, caller: str | None = None) -> str:
    """``reduction`` must be ``"mean"``, ``"sum"`` or ``"none"``."""
    return check_option(reduction, "reduction", REDUCTIONS, caller)


def check_callable(value: Any, name: str, expected: str = "a callable", caller=None) -> Any:
    """``value`` must be callable (a model, a function); return it."""
    if not callable(value):
        raise invalid(name, expected, value, caller)
    return value


def check_type(value: Any, name: str, types: type | tuple, expected: str, caller=None) -> Any:
    """``value`` must be an instance of ``types``; ``expected`` says so in words."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
        raise invalid(name, expected, value, caller)
    return value


def _tuple(t: Any) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def check_pair(
    value: Any, name: str, *, low: int = 1, caller: str | None = None
) -> tuple[int, int]:
    """An integer or a pair of integers, each ``>= low``; return it as a pair.

    The form of ``stride``, ``padding`` and ``kernel_size`` in :mod:`dlcourse.cnn`.
    """
    expected = f"an integer >= {low} or a pair of such integers"
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        pair = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) for v in value)
        and not any(isinstance(v, (bool, np.bool_)) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise invalid(name, expected, value, caller)
    if min(pair) < low:
        raise invalid(name, expected, value, caller)
    return pair


# --------------------------------------------------------------------------- arrays
def _ndim_text(ndim: int | Sequence[int]) -> str:
    dims = _tuple(ndim) if not isinstance(ndim, list) else tuple(ndim)
    return " or ".join(f"{d}-D" for d in dims)


def check_ndim(
    x: Any,
    name: str,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    *,
    min_ndim: int | None = None,
    what: str = "an array",
    caller: str | None = None,
) -> Any:
    """Check the number of dimensions and/or the shape of an array or tensor ``x``.

    ``ndim`` is an int or a tuple of allowed ints; ``shape`` a tuple whose ``None`` entries
    match any size. ``what`` names the expected layout in the message, e.g.
    ``"a tensor of shape (N, C, H, W)"``. ``min_ndim`` asks for at least that many axes.
    """
    if min_ndim is not None and x.ndim < min_ndim:
        text = f"{what} with at least {min_ndim} dimension{'s' if min_ndim > 1 else ''}"
        raise invalid(name, text, _shape_of(x), caller)
    if ndim is not None and x.ndim not in _tuple(tuple(ndim) if isinstance(ndim, list) else ndim):
        generic = what in ("an array", "a tensor")
        text = f"a {_ndim_text(ndim)} {what.split()[-1]}" if generic else what
        raise invalid(name, text, _shape_of(x), caller)
    if shape is not None:
        shape = tuple(shape)
        if len(shape) != x.ndim or any(
            s is not None and s != g for s, g in zip(shape, x.shape, strict=True)
        ):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
            raise invalid(name, f"{what} of shape {want}", _shape_of(x), caller)
    return x


def _shape_of(x: Any) -> _Raw:
    return _Raw(f"{'a tensor' if _is_torch(x) else 'an array'} of shape {tuple(x.shape)}")


class _Raw:
    """Text shown as is where a message shows the repr of the value."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    min_ndim: int | None = None,
    dtype: Any = np.float64,
    caller: str | None = None,
    allow_nan: bool = False,
) -> np.ndarray:
    """Return ``x`` (array-like or torch tensor) as a real NumPy array.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Tensors are detached and moved to the CPU.
    name : str
        The argument's name.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        The expected shape; ``None`` entries match any size.
    min_ndim : int, optional
        The least number of dimensions allowed.
    dtype : numpy dtype or None
        The dtype of the result; ``None`` keeps a floating input's dtype (float32 stays
        float32) and turns anything else into float64.
    allow_nan : bool
        When False (the default), NaN and infinite entries are refused.

    Examples
    --------
    >>> as_float_array([[1, 2]], "x", ndim=2)
    array([[1., 2.]])
    """
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    expected = "an array of real numbers"
    try:
        a = np.asarray(x)
    except Exception:  # noqa: BLE001 - ragged lists and odd objects: not an array of numbers
        raise invalid(name, expected, x, caller) from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise invalid(name, expected, x, caller)
    if np.iscomplexobj(a):
        raise invalid(name, f"{expected} (not complex)", x, caller)
    if dtype is None:
        dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64
    a = a.astype(dtype, copy=False)
    check_ndim(a, name, ndim, shape, min_ndim=min_ndim, caller=caller)
    if not allow_nan and not np.all(np.isfinite(a)):
        bad = _Raw(f"{int(np.sum(~np.isfinite(a)))} non-finite entries")
        raise invalid(name, "an array of finite numbers", bad, caller)
    return a


def as_tensor(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
    device: Any = None,
    like: Any = None,
    caller: str | None = None,
    allow_nan: bool = True,
) -> Any:
    """Return ``x`` as a ``torch.Tensor``.

    A tensor keeps its device and dtype unless ``dtype``/``device`` are given; arrays and
    lists are converted (NumPy arrays keep their dtype). ``like``, a tensor, gives the
    device when ``device`` is not given (the device comes from the inputs, never a global).

    Examples
    --------
    >>> as_tensor([1.0, 2.0], "x").dtype
    torch.float64
    """
    import torch

    if device is None and _is_torch(like):
        device = like.device
    if not _is_torch(x):
        try:
            x = torch.as_tensor(np.asarray(x))
        except Exception:  # noqa: BLE001 - anything torch refuses is not an array of numbers
            raise invalid(name, "a tensor or an array of numbers", x, caller) from None
    if dtype is not None or device is not None:
        x = x.to(device=device, dtype=dtype)
    check_ndim(x, name, ndim, shape, what="a tensor", caller=caller)
    if not allow_nan and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = _Raw(f"{int((~torch.isfinite(x)).sum())} non-finite entries")
        raise invalid(name, "a tensor of finite numbers", bad, caller)
    return x


def as_array_or_tensor(x: Any, name: str, caller: str | None = None) -> Any:
    """A NumPy array or torch tensor passes unchanged; anything else becomes a float array."""
    if isinstance(x, np.ndarray) or _is_torch(x):
        return x
    try:
        return as_float_array(x, name, caller=caller, allow_nan=True)
    except InvalidParameterError:
        raise invalid(
            name, "a NumPy array, a torch tensor or a list of numbers", x, caller
        ) from None


def as_image_batch(x: Any, name: str, caller: str | None = None) -> tuple[Any, bool]:
    """``x`` of shape (N, C, H, W), or one image (C, H, W); return ``(x4d, was_unbatched)``."""
    check_ndim(x, name, (3, 4), what="a tensor of shape (N, C, H, W) or (C, H, W)", caller=caller)
    if x.ndim == 3:
        return x.unsqueeze(0), True
    return x, False


# --------------------------------------------------------------------------- randomness
def check_seed(seed: Any, name: str = "seed", caller: str | None = None) -> np.random.Generator:
    """Turn a ``seed`` argument into a fresh ``numpy.random.Generator``.

    ``seed`` may be None (fresh entropy), an int >= 0, a ``numpy.random.Generator``
    (returned as is, so the caller's stream advances) or a ``torch.Generator`` (one number
    is drawn from it to seed the NumPy generator). The global RNGs are never touched.

    >>> float(check_seed(0).random()) == float(check_seed(0).random())
    True
    """
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(seed, torch.Generator):
        return np.random.default_rng(
            int(torch.randint(0, 2**62, (1,), generator=seed, device=seed.device))
        )
    return np.random.default_rng(_seed_int(seed, name, caller))


def check_torch_seed(
    seed: Any, device: Any = "cpu", name: str = "seed", caller: str | None = None
) -> Any:
    """Turn a ``seed`` argument into a ``torch.Generator`` on ``device``, or None.

    None stays None: torch then draws from its global generator (reading it, never
    seeding it), as a torch function without a generator does. An int seeds a new
    generator; a ``torch.Generator`` is returned as is when it lives on ``device``; a
    ``numpy.random.Generator`` gives one number to seed a new torch generator.

    >>> import torch
    >>> a = torch.rand(2, generator=check_torch_seed(0))
    >>> bool((a == torch.rand(2, generator=check_torch_seed(0))).all())
    True
    """
    import torch

    if seed is None:
        return None
    device = torch.device(device)
    if isinstance(seed, torch.Generator):
        if seed.device.type != device.type:
            raise invalid(name, f"an int, None or a torch.Generator on {device.type}", seed, caller)
        return seed
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**62))
    return torch.Generator(device=device).manual_seed(_seed_int(seed, name, caller))


def _seed_int(seed: Any, name: str, caller: str | None) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, (bool, np.bool_)) or seed < 0:
        raise invalid(
            name,
            "None, an integer >= 0, a numpy.random.Generator or a torch.Generator",
            seed,
            caller,
        )
    return int(seed)


# --------------------------------------------------------------------------- renamed arguments
def renamed_kwargs(**renames: str) -> Callable[[_F], _F]:
    """Accept old keyword names for one release, with a ``FutureWarning``.

    ``@renamed_kwargs(max_iter="n_iter")`` lets ``f(max_iter=5)`` keep working as
    ``f(n_iter=5)``; passing both is an error.

    >>> @renamed_kwargs(max_iter="n_iter")
    ... def f(n_iter=10):
    ...     return n_iter
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     f(max_iter=3)
    3
    """

    def decorate(fn: _F) -> _F:
        where = fn.__qualname__.removesuffix(".__init__")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InvalidParameterError(
                            f"{where} got both '{old}' (deprecated) and '{new}'; pass only '{new}'."
                        )
                    warnings.warn(
                        f"The '{old}' argument of {where} is deprecated and will be "
                        f"removed in the next release; use '{new}' instead.",
                        FutureWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
