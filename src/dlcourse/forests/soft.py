"""Soft decision trees: the sign units of a tree replaced by sigmoids, trained by gradient descent.

Taught in the chapter *Decision trees and forests as neural networks*
(``book/trees-as-networks.ipynb``); Jordan and Jacobs (1994), Irsoy et al. (2012), Frosst
and Hinton (2017). A complete binary tree of depth :math:`D` has :math:`S = 2^D - 1` inner
nodes (numbered breadth first: node :math:`k` has children :math:`2k+1` on the left and
:math:`2k+2` on the right) and :math:`L = 2^D` leaves. Inner node :math:`s` sends :math:`x`
right with probability :math:`\\sigma(u_s / T)`, :math:`u = Wx + b`, where :math:`T > 0` is
the temperature; the probability of reaching leaf :math:`l` is the product along its path,

.. math:: \\mu_l(x) = \\prod_{s \\in \\mathrm{path}(l)} \\sigma\\big(V_{ls}\\, u_s / T\\big),
   \\qquad p(c \\mid x) = \\sum_{l=1}^L \\mu_l(x)\\, \\operatorname{softmax}(\\theta_l)_c,

with :math:`V_{ls} = \\pm 1` the direction of the path, as in
:class:`~dlcourse.forests.network.TreeNetwork`. As :math:`T \\to 0`, :math:`\\sigma(u/T)`
tends to the step :math:`[u > 0]` and :math:`\\mu(x)` to the one-hot leaf indicator: the soft
tree becomes a hard tree with (oblique) splits :math:`w_s^\\top x + b_s > 0`.
:meth:`SoftTree.from_tree` builds the soft version of a fitted scikit-learn tree, which gives
its ``predict_proba`` in the limit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_ndim, check_scalar, check_torch_seed, invalid
from .network import _check_tree, _module_base, tree_paths

__all__ = ["SoftTree", "complete_tree_paths"]


def complete_tree_paths(depth: int):
    """The matrix :math:`V` (shape ``(2**depth, 2**depth - 1)``) of a complete tree.

    ``V[l, s]`` is +1 / -1 when leaf ``l``'s path goes right / left at inner node ``s``
    (breadth-first numbering), 0 off the path.

    Examples
    --------
    >>> complete_tree_paths(1)
    array([[-1.],
           [ 1.]])
    """
    depth = check_scalar(depth, "depth", int, low=0)
    n_inner = 2**depth - 1
    left = np.full(2 * n_inner + 1, -1)
    right = np.full(2 * n_inner + 1, -1)
    left[:n_inner] = 2 * np.arange(n_inner) + 1
    right[:n_inner] = 2 * np.arange(n_inner) + 2
    inner, _, paths = tree_paths(left, right)
    V = np.zeros((n_inner + 1, n_inner))
    for l, path in enumerate(paths):
        for s, direction in path:
            V[l, s] = direction
    return V


class SoftTree(_module_base()):  # type: ignore[misc]
    """A soft decision tree of depth ``depth``: sigmoid routing with a temperature.

    .. math:: p(c \\mid x) = \\sum_l \\mu_l(x) \\operatorname{softmax}(\\theta_l)_c, \\qquad
       \\mu_l(x) = \\prod_{s \\in \\mathrm{path}(l)} \\sigma(V_{ls} (w_s^\\top x + b_s) / T)

    Parameters
    ----------
    depth : int >= 1
        Depth :math:`D` of the complete tree (:math:`2^D - 1` inner nodes, :math:`2^D` leaves).
    in_dim : int >= 1
        Number of input features :math:`N`.
    n_classes : int >= 2
        Number of classes.
    temperature : float > 0
        :math:`T`; can be changed later through the attribute ``temperature``.
    seed : int, torch.Generator or None
        Seeds the initialisation of the split weights (normal, std :math:`1/\\sqrt N`).

    Attributes
    ----------
    W : Parameter of shape (2**depth - 1, in_dim)
        Split directions, one row per inner node (breadth-first order).
    b : Parameter of shape (2**depth - 1,)
        Split offsets, initially 0.
    leaf_logits : Parameter of shape (2**depth, n_classes)
        :math:`\\theta_l`, initially 0 (every leaf uniform).
    V : buffer of shape (2**depth, 2**depth - 1)
        The path matrix, fixed.

    Notes
    -----
    ``forward`` returns *log*-probabilities :math:`\\log p(c \\mid x)`, so that
    ``torch.nn.functional.cross_entropy`` (or ``nll_loss``) on it is the negative
    log-likelihood and :func:`dlcourse.trainer.train` trains the tree as it is.

    Examples
    --------
    >>> import torch
    >>> tree = SoftTree(depth=2, in_dim=3, n_classes=4, temperature=0.5, seed=0)
    >>> logp = tree(torch.randn(5, 3))
    >>> logp.shape
    torch.Size([5, 4])
    >>> torch.allclose(logp.exp().sum(1), torch.ones(5))
    True
    """

    def __init__(
        self,
        depth: int,
        in_dim: int,
        n_classes: int,
        temperature: float = 1.0,
        seed: Any = None,
    ) -> None:
        import torch

        super().__init__()
        self.depth = check_scalar(depth, "depth", int, low=1)
        self.in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        self.n_classes = check_scalar(n_classes, "n_classes", int, low=2)
        self.temperature = temperature  # checked by the property
        generator = check_torch_seed(seed)
        n_inner = 2**self.depth - 1
        dtype = torch.get_default_dtype()
        with torch.random.fork_rng(devices=[]):  # seed=None reads, never advances, torch's RNG
            W = torch.randn(n_inner, self.in_dim, generator=generator, dtype=dtype)
        self.W = torch.nn.Parameter(W / math.sqrt(self.in_dim))
        self.b = torch.nn.Parameter(torch.zeros(n_inner, dtype=dtype))
        self.leaf_logits = torch.nn.Parameter(torch.zeros(n_inner + 1, self.n_classes, dtype=dtype))
        self.register_buffer("V", torch.as_tensor(complete_tree_paths(self.depth), dtype=dtype))

    @property
    def temperature(self) -> float:
        """:math:`T > 0`, the temperature of the sigmoids."""
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self._temperature = check_scalar(value, "temperature", float, low=0, closed="neither")

    def _check_x(self, x: Any):
        import torch

        if not isinstance(x, torch.Tensor):
            raise invalid("x", "a torch.Tensor of shape (n_samples, in_dim)", x)
        check_ndim(x, "x", 2, what="a tensor of shape (n_samples, in_dim)")
        if x.shape[1] != self.in_dim:
            raise InvalidParameterError(
                f"The 'x' argument has {x.shape[1]} features (columns), but this SoftTree "
                f"has in_dim={self.in_dim}."
            )
        return x.to(dtype=self.W.dtype)

    def leaf_log_probs(self, x: Any):
        """:math:`\\log \\mu_l(x)`, shape (n_samples, 2**depth): log-probability of each leaf."""
        import torch.nn.functional as F

        u = (self._check_x(x) @ self.W.T + self.b) / self.temperature
        right, left = (self.V > 0).to(u.dtype), (self.V < 0).to(u.dtype)
        return F.logsigmoid(u) @ right.T + F.logsigmoid(-u) @ left.T

    def leaf_probs(self, x: Any):
        """:math:`\\mu(x)`, shape (n_samples, 2**depth); each row sums to 1."""
        return self.leaf_log_probs(x).exp()

    def forward(self, x: Any):
        """:math:`\\log p(c \\mid x)`, shape (n_samples, n_classes)."""
        import torch

        log_mu = self.leaf_log_probs(x)
        log_q = torch.log_softmax(self.leaf_logits, dim=1)
        return torch.logsumexp(log_mu[:, :, None] + log_q[None, :, :], dim=1)

    def predict_proba(self, x: Any):
        """:math:`p(c \\mid x)` without gradients, shape (n_samples, n_classes)."""
        import torch

        with torch.no_grad():
            return self(x).exp()

    def predict(self, x: Any):
        """The most probable class of each row (a long tensor)."""
        return self.predict_proba(x).argmax(dim=1)

    @classmethod
    def from_tree(cls, tree: Any, temperature: float = 1.0) -> SoftTree:
        """The soft tree whose hard limit (:math:`T \\to 0`) is a fitted scikit-learn tree.

        Inner node :math:`s` of the tree becomes :math:`w_s = e_{j_s}`, :math:`b_s = -t_s`;
        a leaf shallower than the tree's depth is copied into a complete subtree whose extra
        splits are :math:`w = 0, b = 0` (probability 1/2 each way, same value below), so
        every depth works. Leaf logits are :math:`\\log p_l` (clamped at 1e-12), so that
        :math:`\\operatorname{softmax}(\\theta_l) = p_l`. float64 parameters.

        Parameters
        ----------
        tree : sklearn.tree.DecisionTreeClassifier
            Fitted, one output.
        temperature : float > 0

        Examples
        --------
        >>> import numpy as np, torch
        >>> from sklearn.tree import DecisionTreeClassifier
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
        >>> hard = DecisionTreeClassifier(random_state=0).fit(X, y)
        >>> soft = SoftTree.from_tree(hard, temperature=1e-3)
        >>> soft.predict_proba(torch.tensor([[1.0], [2.0]], dtype=torch.float64)).round(decimals=6)
        tensor([[1., 0.],
                [0., 1.]], dtype=torch.float64)
        """
        import torch

        tree, is_clf = _check_tree(tree)
        if not is_clf:
            raise invalid("tree", "a DecisionTreeClassifier (a soft tree classifies)",
                          got="a DecisionTreeRegressor")  # fmt: skip
        t = tree.tree_
        depth = max(int(tree.get_depth()), 1)
        n_classes = int(tree.n_classes_)
        soft = cls(depth, int(tree.n_features_in_), max(n_classes, 2), temperature, seed=0)
        soft = soft.to(torch.float64)
        n_inner = 2**depth - 1
        W = np.zeros((n_inner, soft.in_dim))
        b = np.zeros(n_inner)
        logits = np.zeros((n_inner + 1, soft.n_classes))
        values = np.array(t.value[:, 0, :n_classes], dtype=np.float64)
        values = values / values.sum(axis=1, keepdims=True)
        stack = [(0, 0)]  # (scikit-learn node, soft node)
        while stack:
            node, k = stack.pop()
            if k >= n_inner:  # a soft leaf
                p = np.zeros(soft.n_classes)
                p[:n_classes] = values[node]
                logits[k - n_inner] = np.log(np.maximum(p, 1e-12))
                continue
            if t.children_left[node] != -1:
                W[k, t.feature[node]] = 1.0
                b[k] = -t.threshold[node]
                stack += [(t.children_left[node], 2 * k + 1), (t.children_right[node], 2 * k + 2)]
            else:  # a leaf above the full depth: both children repeat it
                stack += [(node, 2 * k + 1), (node, 2 * k + 2)]
        with torch.no_grad():
            soft.W.copy_(torch.from_numpy(W))
            soft.b.copy_(torch.from_numpy(b))
            soft.leaf_logits.copy_(torch.from_numpy(logits))
        return soft

    def extra_repr(self) -> str:
        return (
            f"depth={self.depth}, in_dim={self.in_dim}, n_classes={self.n_classes}, "
            f"temperature={self.temperature:g}"
        )
