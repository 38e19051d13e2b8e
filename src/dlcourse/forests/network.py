"""A fitted decision tree rewritten as a two-layer network of sign units.

Taught in the chapter *Decision trees and forests as neural networks*
(``book/trees-as-networks.ipynb``); Sethi (1990), Welbl (2014). A tree with :math:`S` inner
nodes and :math:`L` leaves, on inputs :math:`x \\in \\mathbb{R}^N`, becomes

.. math::
   y = \\operatorname{sgn}(W x + b) \\in \\{-1, +1\\}^S, \\qquad
   \\Phi(x) = \\big[\\, V y \\ge \\tilde b - \\tfrac12 \\,\\big] \\in \\{0, 1\\}^L, \\qquad
   f(x) = \\Phi(x)^\\top A,

with one row of :math:`W` per inner node :math:`s` (the unit vector :math:`e_{j_s}` of the
coordinate it splits), :math:`b_s = -t_s` (minus its threshold), so that :math:`y_s = +1`
sends :math:`x` right (:math:`x_{j_s} > t_s`) and :math:`y_s = -1` left
(:math:`x_{j_s} \\le t_s`, scikit-learn's rule: :math:`\\operatorname{sgn}(0) = -1`). Row
:math:`l` of :math:`V` holds :math:`\\pm 1` on the inner nodes of leaf :math:`l`'s path
(the direction taken) and 0 elsewhere; :math:`\\tilde b_l` is the length of that path (the
depth of the leaf). :math:`(Vy)_l = \\tilde b_l` exactly when :math:`x` follows the path
and :math:`(Vy)_l \\le \\tilde b_l - 2` otherwise, so the threshold :math:`\\tilde b_l -
\\frac12` makes :math:`\\Phi(x)` one-hot (the lecture's :math:`\\operatorname{sign}(Vy -
\\tilde b)` is 0 on the right leaf and -1 on all others). :math:`A` (``leaf_values``) holds
each leaf's class proportions (a classifier) or value (a regressor).

scikit-learn compares ``float32(x) <= threshold`` in float64; the network does the same, so
its predictions are those of the tree on every input, ties included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_ndim, invalid
from ..utils import is_torch

__all__ = ["TreeNetwork", "tree_to_network", "tree_paths"]

_BATCH = 16384  # rows per chunk in predict / predict_proba


def _module_base():
    import torch

    return torch.nn.Module


def _check_tree(tree: Any, name: str = "tree") -> tuple[Any, bool]:
    """The fitted scikit-learn tree behind ``tree``; returns (estimator, is_classifier)."""
    try:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise InvalidParameterError("tree_to_network needs scikit-learn.") from err
    if not isinstance(tree, (DecisionTreeClassifier, DecisionTreeRegressor)):
        raise invalid(
            name,
            "a fitted sklearn.tree.DecisionTreeClassifier or DecisionTreeRegressor",
            got=f"a {type(tree).__name__}",
        )
    if not hasattr(tree, "tree_"):
        raise InvalidParameterError(
            f"The '{name}' argument is a {type(tree).__name__} that has not been fitted yet: "
            "call its fit(X, y) first."
        )
    if tree.n_outputs_ != 1:
        raise invalid(name, "a tree fitted on one output (y of shape (n,))",
                      got=f"a tree with {tree.n_outputs_} outputs")  # fmt: skip
    return tree, isinstance(tree, DecisionTreeClassifier)


def tree_paths(children_left: Any, children_right: Any) -> tuple[list, list, list]:
    """Inner nodes, leaves, and the path of every leaf, from a tree's child arrays.

    Parameters
    ----------
    children_left, children_right : array_like of int, shape (n_nodes,)
        scikit-learn's ``tree_.children_left`` / ``children_right`` (-1 at a leaf); node 0
        is the root.

    Returns
    -------
    inner : list of int
        The node ids of the inner nodes, increasing; inner node ``s`` is ``inner[s]``.
    leaves : list of int
        The node ids of the leaves, increasing.
    paths : list of list of (int, int)
        For each leaf, the pairs ``(s, direction)`` along its path from the root, with
        ``direction`` +1 (right) or -1 (left) and ``s`` an index into ``inner``.

    Examples
    --------
    >>> tree_paths([1, -1, -1], [2, -1, -1])
    ([0], [1, 2], [[(0, -1)], [(0, 1)]])
    """
    left = np.asarray(children_left)
    right = np.asarray(children_right)
    inner = [int(i) for i in np.flatnonzero(left != -1)]
    leaves = [int(i) for i in np.flatnonzero(left == -1)]
    index = {node: s for s, node in enumerate(inner)}
    path_of: dict[int, list] = {}
    stack: list[tuple[int, list]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if left[node] == -1:
            path_of[node] = path
            continue
        s = index[node]
        stack.append((int(right[node]), path + [(s, 1)]))
        stack.append((int(left[node]), path + [(s, -1)]))
    return inner, leaves, [path_of[node] for node in leaves]


class TreeNetwork(_module_base()):  # type: ignore[misc]
    """A fitted decision tree as a two-layer sign network (built by :func:`tree_to_network`).

    .. math:: y = \\operatorname{sgn}(Wx + b), \\qquad \\Phi(x) = [Vy \\ge \\tilde b - \\tfrac12],
       \\qquad f(x) = \\Phi(x)^\\top A

    with :math:`\\operatorname{sgn}(u) = +1` for :math:`u > 0` and :math:`-1` otherwise.

    Attributes
    ----------
    W : Tensor of shape (n_inner, n_features), float64
        Row ``s`` is the unit vector of the coordinate split at inner node ``s``.
    b : Tensor of shape (n_inner,), float64
        Minus the thresholds.
    V : Tensor of shape (n_leaves, n_inner), float64
        +1 / -1 where a leaf's path goes right / left at an inner node, 0 off the path.
    b_tilde : Tensor of shape (n_leaves,), float64
        The depth of each leaf (the number of non-zeros in its row of ``V``).
    leaf_values : Tensor of shape (n_leaves, n_outputs), float64
        Class proportions (a classifier, ``n_outputs = n_classes``) or the value (a regressor,
        ``n_outputs = 1``) of each leaf.
    inner_ids, leaf_ids : ndarray of int
        The scikit-learn node ids of the inner nodes and of the leaves, in the order of the
        rows of ``W`` and ``V``.
    classes_ : ndarray or None
        The tree's classes (None for a regressor).
    is_classifier : bool

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
    >>> net = tree_to_network(DecisionTreeClassifier(random_state=0).fit(X, y))
    >>> net.W, net.b, net.V, net.b_tilde
    (tensor([[1.]], dtype=torch.float64), tensor([-1.5000], dtype=torch.float64), tensor([[-1.],
            [ 1.]], dtype=torch.float64), tensor([1., 1.], dtype=torch.float64))
    >>> net.predict(np.array([[1.5], [1.6]]))
    array([0, 1])
    """

    def __init__(self, W, b, V, b_tilde, leaf_values, inner_ids, leaf_ids, classes=None):
        super().__init__()
        self.register_buffer("W", W)
        self.register_buffer("b", b)
        self.register_buffer("V", V)
        self.register_buffer("b_tilde", b_tilde)
        self.register_buffer("leaf_values", leaf_values)
        self.inner_ids = np.asarray(inner_ids, dtype=np.intp)
        self.leaf_ids = np.asarray(leaf_ids, dtype=np.intp)
        self.classes_ = None if classes is None else np.asarray(classes)
        self.is_classifier = classes is not None
        self.n_features_in_ = int(W.shape[1])

    # ------------------------------------------------------------------ the two layers
    def _input(self, x: Any):
        """``x`` as a float64 tensor on the buffers' device, rounded to float32 first."""
        import torch

        if is_torch(x):
            check_ndim(x, "x", 2, what="a tensor of shape (n_samples, n_features)")
            t = x.detach()
            if not t.is_floating_point():
                t = t.double()
            if not bool(torch.isfinite(t).all()):
                raise invalid("x", "a tensor of finite numbers", got="non-finite entries")
        else:
            t = torch.from_numpy(as_float_array(x, "x", ndim=2))
        if t.shape[1] != self.n_features_in_:
            raise InvalidParameterError(
                f"The 'x' argument has {t.shape[1]} features (columns), but the tree was "
                f"fitted on {self.n_features_in_}."
            )
        # scikit-learn stores X as float32 and compares it with float64 thresholds
        return t.to(device=self.W.device, dtype=torch.float32).double()

    def hidden(self, x: Any):
        """First layer, :math:`y = \\operatorname{sgn}(Wx + b)` with sgn(0) = -1 (go left).

        Each row of :math:`W` is a unit vector :math:`e_{j_s}`, so :math:`(Wx)_s = x_{j_s}`: the
        product is computed as that column selection (the same numbers, exactly, without
        :math:`N - 1` multiplications by zero per unit).

        Returns a float64 tensor of shape (n_samples, n_inner) of +1 / -1.
        """
        import torch

        u = self._input(x).index_select(1, self._features()) + self.b
        return torch.where(u > 0, 1.0, -1.0).to(torch.float64)

    def _features(self):
        """:math:`j_s`, the column of the non-zero of each row of :math:`W` (a long tensor)."""
        return self.W.argmax(dim=1) if self.W.shape[1] else self.W.new_zeros(0).long()

    def leaves(self, x: Any):
        """Second layer, the one-hot leaf indicator :math:`\\Phi(x) = [Vy \\ge \\tilde b - 1/2]`.

        :math:`V` has :math:`\\tilde b_l` non-zeros in row :math:`l`; :math:`Vy` is computed with a
        sparse copy of :math:`V` (exact: sums of a few integers).

        Returns a float64 tensor of shape (n_samples, n_leaves).
        """
        import torch

        y = self.hidden(x)
        if self.V.shape[1] == 0:  # a single leaf, no split
            vy = y.new_zeros(y.shape[0], self.V.shape[0])
        else:
            vy = torch.sparse.mm(self.V.to_sparse(), y.T).T
        return (vy >= self.b_tilde - 0.5).to(torch.float64)

    def forward(self, x: Any):
        """:math:`f(x) = \\Phi(x)^\\top A`: class proportions or values, shape (n, n_outputs)."""
        return self.leaves(x) @ self.leaf_values

    def apply(self, x: Any) -> np.ndarray:
        """scikit-learn node id of the leaf of each row (as ``tree.apply``), an int ndarray."""
        return self.leaf_ids[self._chunked(x, lambda t: self.leaves(t).argmax(1)).cpu().numpy()]

    # ------------------------------------------------------------------ scikit-learn style
    def _chunked(self, x: Any, fn):
        import torch

        if is_torch(x) or isinstance(x, np.ndarray):
            n = x.shape[0]
        else:
            x = as_float_array(x, "x", ndim=2)
            n = x.shape[0]
        with torch.no_grad():
            parts = [fn(x[i : i + _BATCH]) for i in range(0, max(n, 1), _BATCH)]
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def predict_proba(self, x: Any):
        """Class probabilities, equal to the tree's ``predict_proba`` (classifiers only).

        A NumPy array in gives a float64 NumPy array out; a tensor gives a tensor on its device.
        """
        if not self.is_classifier:
            raise InvalidParameterError(
                "predict_proba is for classification trees; this network comes from a "
                "regression tree: use predict."
            )
        out = self._chunked(x, self.forward)
        return out.to(x.device) if is_torch(x) else out.cpu().numpy()

    def predict(self, x: Any):
        """The tree's ``predict``: the most probable class (first on ties) or the leaf value."""
        import torch

        out = self._chunked(x, self.forward)
        if not self.is_classifier:
            out = out[:, 0]
            return out.to(x.device) if is_torch(x) else out.cpu().numpy()
        index = out.argmax(dim=1).cpu().numpy()
        labels = self.classes_[index]
        if is_torch(x):
            if not np.issubdtype(labels.dtype, np.number):
                raise InvalidParameterError(
                    "The classes of this tree are not numbers, so predict cannot return a "
                    "tensor: pass x as a NumPy array."
                )
            return torch.as_tensor(labels, device=x.device)
        return labels

    def extra_repr(self) -> str:
        kind = "classifier" if self.is_classifier else "regressor"
        return (
            f"{kind}, n_features={self.n_features_in_}, inner nodes={self.W.shape[0]}, "
            f"leaves={self.V.shape[0]}"
        )


def tree_to_network(tree: Any) -> TreeNetwork:
    """Rewrite a fitted decision tree as a :class:`TreeNetwork` (two layers of sign units).

    .. math:: W_{s,:} = e_{j_s}^\\top, \\quad b_s = -t_s, \\quad
       V_{l,s} = \\pm 1 \\text{ on leaf } l\\text{'s path}, \\quad \\tilde b_l = \\text{depth}(l)

    Parameters
    ----------
    tree : sklearn.tree.DecisionTreeClassifier or DecisionTreeRegressor
        Fitted, with one output.

    Returns
    -------
    TreeNetwork
        On the CPU (move it with ``.to(device)``); its ``predict``/``predict_proba`` equal the
        tree's on every input.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = make_classification(200, 4, random_state=0)
    >>> tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    >>> net = tree_to_network(tree)
    >>> net.W.shape, net.V.shape
    (torch.Size([7, 4]), torch.Size([8, 7]))
    >>> bool(np.array_equal(net.predict_proba(X), tree.predict_proba(X)))
    True
    """
    import torch

    tree, is_clf = _check_tree(tree)
    t = tree.tree_
    inner, leaves, paths = tree_paths(t.children_left, t.children_right)
    n_features = int(tree.n_features_in_)
    S, L = len(inner), len(leaves)
    W = torch.zeros(S, n_features, dtype=torch.float64)
    W[torch.arange(S), torch.as_tensor(t.feature[inner], dtype=torch.long)] = 1.0
    b = -torch.as_tensor(t.threshold[inner], dtype=torch.float64)
    V = torch.zeros(L, S, dtype=torch.float64)
    for l, path in enumerate(paths):
        for s, direction in path:
            V[l, s] = direction
    b_tilde = torch.tensor([len(p) for p in paths], dtype=torch.float64)
    if is_clf:
        values = np.array(t.value[leaves, 0, : tree.n_classes_], dtype=np.float64)
        sums = values.sum(axis=1, keepdims=True)
        if not np.allclose(sums, 1.0):  # scikit-learn < 1.4 stores counts, not proportions
            values = values / np.where(sums == 0, 1.0, sums)
        classes = tree.classes_
    else:
        values = np.array(t.value[leaves, 0, :1], dtype=np.float64)
        classes = None
    return TreeNetwork(W, b, V, b_tilde, torch.from_numpy(values), inner, leaves, classes=classes)
