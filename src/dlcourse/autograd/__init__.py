"""A tensor-level reverse-mode automatic differentiation engine on NumPy arrays.

Taught in the chapter *Training neural networks* (book/training).

* :mod:`~dlcourse.autograd.function`: the :class:`Function` base class of every operation,
  its :class:`Context`, :class:`no_grad` and ``unbroadcast``;
* :mod:`~dlcourse.autograd.tensor`: :class:`Tensor` and ``backward`` (reverse topological
  order, iterative);
* :mod:`~dlcourse.autograd.ops`: one class per operation with its backward rule;
* :mod:`~dlcourse.autograd.functional`: softmax, log-softmax, cross-entropy, MSE;
* :mod:`~dlcourse.autograd.gradcheck`: checking gradients with central differences;
* :mod:`~dlcourse.autograd.nn`: ``Module``, ``Linear``, ``ReLU``, ``Sequential``, ``MLP``.

Examples
--------
>>> from dlcourse.autograd import Tensor
>>> w = Tensor([[1.0, -2.0]], requires_grad=True)
>>> x = Tensor([[3.0], [4.0]])
>>> loss = (w @ x).relu().sum()      # relu(1*3 - 2*4) = relu(-5) = 0
>>> loss.backward()
>>> w.grad                           # no gradient flows through a dead ReLU
array([[0., 0.]])
"""

from . import ops
from .functional import cross_entropy, log_softmax, mse_loss, softmax
from .gradcheck import gradcheck, numerical_grad
from .nn import MLP, Linear, Module, ReLU, Sequential, Tanh
from .tensor import Context, Function, Tensor, as_tensor, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "Tensor",
    "Function",
    "Context",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
    "as_tensor",
    "ops",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "mse_loss",
    "gradcheck",
    "numerical_grad",
    "Module",
    "Linear",
    "ReLU",
    "Tanh",
    "Sequential",
    "MLP",
]
