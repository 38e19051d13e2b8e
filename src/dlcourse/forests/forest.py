"""A random forest as an ensemble of two-layer sign networks.

Taught in the chapter *Decision trees and forests as neural networks*
(``book/trees-as-networks.ipynb``). Each tree :math:`k = 1, \\dots, K` of the forest becomes a
:class:`~dlcourse.forests.network.TreeNetwork` :math:`f_k`, and the forest is their average,

.. math:: f(x) = \\frac1K \\sum_{k=1}^K f_k(x),

which is scikit-learn's rule: ``RandomForestClassifier.predict_proba`` averages the trees'
class probabilities (*soft voting*, not a majority of hard votes) and ``predict`` takes the
most probable class of that average; a regression forest averages the trees' values. The
sum is accumulated tree by tree in float64, as scikit-learn does, so the results are equal
to its own, not only close.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, invalid
from ..utils import is_torch
from .network import TreeNetwork, _module_base, tree_to_network

__all__ = ["ForestNetwork", "forest_to_network"]


class ForestNetwork(_module_base()):  # type: ignore[misc]
    """The trees of a fitted forest as networks, averaged (built by :func:`forest_to_network`).

    .. math:: f(x) = \\frac1K \\sum_k \\Phi_k(x)^\\top A_k

    Attributes
    ----------
    trees : torch.nn.ModuleList of TreeNetwork
        One network per tree, in the forest's order.
    classes_ : ndarray or None
        The forest's classes (None for a regressor).
    is_classifier : bool

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X, y = make_classification(300, 6, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    >>> net = forest_to_network(forest)
    >>> len(net.trees)
    5
    >>> bool(np.array_equal(net.predict_proba(X), forest.predict_proba(X)))
    True
    """

    def __init__(self, trees: list[TreeNetwork], classes=None) -> None:
        import torch

        super().__init__()
        self.trees = torch.nn.ModuleList(trees)
        self.classes_ = None if classes is None else np.asarray(classes)
        self.is_classifier = classes is not None
        self.n_features_in_ = trees[0].n_features_in_

    def forward(self, x: Any):
        """The average of the trees' outputs, a float64 tensor of shape (n, n_outputs)."""
        total: Any = None  # tree by tree, as scikit-learn accumulates
        for tree in self.trees:
            out = tree(x)
            total = out if total is None else total + out
        return total / len(self.trees)

    def _out(self, x: Any):
        import torch

        from .network import _BATCH

        n = x.shape[0] if (is_torch(x) or isinstance(x, np.ndarray)) else len(x)
        if not (is_torch(x) or isinstance(x, np.ndarray)):
            x = np.asarray(x, dtype=float)
        with torch.no_grad():
            parts = [self.forward(x[i : i + _BATCH]) for i in range(0, max(n, 1), _BATCH)]
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def predict_proba(self, x: Any):
        """The mean of the trees' class probabilities (= the forest's ``predict_proba``)."""
        if not self.is_classifier:
            raise InvalidParameterError(
                "predict_proba is for classification forests; this one is a regressor: use predict."
            )
        out = self._out(x)
        return out.to(x.device) if is_torch(x) else out.cpu().numpy()

    def predict(self, x: Any):
        """The forest's ``predict``: argmax of the mean probabilities, or the mean value."""
        import torch

        out = self._out(x)
        if not self.is_classifier:
            out = out[:, 0]
            return out.to(x.device) if is_torch(x) else out.cpu().numpy()
        classes: Any = self.classes_
        labels = classes[out.argmax(dim=1).cpu().numpy()]
        if is_torch(x):
            if not np.issubdtype(labels.dtype, np.number):
                raise InvalidParameterError(
                    "The classes of this forest are not numbers, so predict cannot return a "
                    "tensor: pass x as a NumPy array."
                )
            return torch.as_tensor(labels, device=x.device)
        return labels


def forest_to_network(forest: Any) -> ForestNetwork:
    """Rewrite a fitted random forest (or extra-trees ensemble) as a :class:`ForestNetwork`.

    .. math:: f(x) = \\frac1K \\sum_{k=1}^K f_k(x),

    with :math:`f_k` the network of tree :math:`k` (:func:`tree_to_network`).

    Parameters
    ----------
    forest : RandomForest{Classifier,Regressor} or ExtraTrees{Classifier,Regressor}
        A fitted scikit-learn forest, with one output.

    Returns
    -------
    ForestNetwork
        On the CPU; ``predict_proba`` / ``predict`` equal the forest's.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> X = np.random.default_rng(0).normal(size=(100, 3)); y = X[:, 0] - X[:, 1]
    >>> forest = RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0).fit(X, y)
    >>> bool(np.array_equal(forest_to_network(forest).predict(X), forest.predict(X)))
    True
    """
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    kinds = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
             ExtraTreesRegressor)  # fmt: skip
    if not isinstance(forest, kinds):
        raise invalid(
            "forest",
            "a fitted scikit-learn RandomForestClassifier/Regressor or ExtraTreesClassifier/"
            "Regressor",
            got=f"a {type(forest).__name__}",
        )
    if not hasattr(forest, "estimators_"):
        raise InvalidParameterError(
            f"The 'forest' argument is a {type(forest).__name__} that has not been fitted yet: "
            "call its fit(X, y) first."
        )
    if forest.n_outputs_ != 1:
        raise invalid("forest", "a forest fitted on one output (y of shape (n,))",
                      got=f"a forest with {forest.n_outputs_} outputs")  # fmt: skip
    is_clf = isinstance(forest, (RandomForestClassifier, ExtraTreesClassifier))
    trees = [tree_to_network(est) for est in forest.estimators_]
    return ForestNetwork(trees, classes=forest.classes_ if is_clf else None)
