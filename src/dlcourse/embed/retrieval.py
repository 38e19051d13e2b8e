"""How good is an embedding for retrieval: k-nearest-neighbour accuracy and precision@k.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``).

With Euclidean distances between embeddings, the **k-NN classifier** predicts the majority label
among the :math:`k` nearest training embeddings (ties go to the smallest label, as in
scikit-learn), and **precision@k** is the share of the :math:`k` nearest database items that have
the query's label,

.. math::
   P@k = \\frac{1}{|Q|}\\sum_{q \\in Q} \\frac{1}{k}
   \\big|\\{\\,i \\in N_k(q) : y_i = y_q\\,\\}\\big| .

Both work on NumPy arrays or torch tensors (on any device) and return Python floats.
"""

from __future__ import annotations

from .._validation import InvalidParameterError, as_tensor, check_scalar

__all__ = ["knn_accuracy", "precision_at_k", "nearest_indices"]


def _embeddings(z, name: str, like=None):
    import torch

    z = as_tensor(z, name, ndim=2, like=like, allow_nan=False)
    if not z.is_floating_point():
        z = z.to(torch.float64)
    return z


def _labels(y, name: str, n: int, like):
    y = as_tensor(y, name, ndim=1, like=like)
    if y.shape[0] != n:
        raise InvalidParameterError(
            f"'{name}' must hold one label per embedding: {n} labels. Got {y.shape[0]}."
        )
    return y


def nearest_indices(z_query, z_db, k: int, *, exclude_self: bool = False, batch_size: int = 2048):
    """Indices of the ``k`` nearest rows of ``z_db`` for each row of ``z_query``, shape (q, k).

    Euclidean distance, nearest first; ``exclude_self=True`` (when the query set is the
    database) leaves each row out of its own neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> nearest_indices(np.array([[0.0], [10.0]]), np.array([[9.0], [1.0], [0.5]]), k=2).tolist()
    [[2, 1], [0, 1]]
    """
    import torch

    z_query = _embeddings(z_query, "z_query")
    z_db = _embeddings(z_db, "z_db", like=z_query).to(z_query.dtype)
    if z_db.shape[1] != z_query.shape[1]:
        raise InvalidParameterError(
            f"'z_query' and 'z_db' must have the same dimension. Got {z_query.shape[1]} and "
            f"{z_db.shape[1]}."
        )
    k = check_scalar(k, "k", int, low=1)
    limit = z_db.shape[0] - (1 if exclude_self else 0)
    if k > limit:
        raise InvalidParameterError(
            f"The 'k' argument must be at most the number of candidates ({limit}). Got {k}."
        )
    out = []
    for s in range(0, z_query.shape[0], batch_size):
        d = torch.cdist(z_query[s : s + batch_size], z_db)
        if exclude_self:
            rows = torch.arange(d.shape[0], device=d.device)
            d[rows, rows + s] = float("inf")
        out.append(torch.topk(d, k, dim=1, largest=False, sorted=True).indices)
    return torch.cat(out).cpu().numpy()


def knn_accuracy(z_train, y_train, z_test, y_test, k: int = 5) -> float:
    """Accuracy of the k-nearest-neighbour classifier on the embeddings.

    Parameters
    ----------
    z_train : array-like or torch.Tensor of shape (n_train, d)
    y_train : array-like of shape (n_train,), integer labels
    z_test : array-like or torch.Tensor of shape (n_test, d)
    y_test : array-like of shape (n_test,)
    k : int >= 1

    Returns
    -------
    float
        The share of test rows whose majority label among their k nearest training rows is
        their own label.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> knn_accuracy(z, [0, 0, 1, 1], np.array([[0.05], [0.9]]), [0, 1], k=1)
    1.0
    """
    import torch

    k = check_scalar(k, "k", int, low=1)
    z_train = _embeddings(z_train, "z_train")
    y_train = _labels(y_train, "y_train", z_train.shape[0], z_train).long()
    z_test = _embeddings(z_test, "z_test", like=z_train)
    y_test = _labels(y_test, "y_test", z_test.shape[0], z_train).long()
    idx = torch.from_numpy(nearest_indices(z_test, z_train, k)).to(z_train.device)
    votes = y_train[idx]  # (n_test, k)
    n_classes = int(max(int(y_train.max()), int(y_test.max()))) + 1
    counts = torch.zeros(votes.shape[0], n_classes, device=votes.device)
    counts.scatter_add_(1, votes, torch.ones_like(votes, dtype=counts.dtype))
    pred = counts.argmax(dim=1)  # first maximum: the smallest label among ties
    return float((pred == y_test).double().mean())


def precision_at_k(z_query, y_query, z_db=None, y_db=None, k: int = 10) -> float:
    """Mean share of the k nearest database items that share the query's label.

    Parameters
    ----------
    z_query : array-like or torch.Tensor of shape (q, d)
    y_query : array-like of shape (q,)
    z_db, y_db : optional
        The database; when omitted the queries are the database and each query is left out of
        its own neighbours (leave-one-out).
    k : int >= 1

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.0], [0.1], [0.3], [5.0]])
    >>> precision_at_k(z, [0, 0, 1, 1], k=1)  # the third point's neighbour is of class 0
    0.75
    """
    import torch

    k = check_scalar(k, "k", int, low=1)
    z_query = _embeddings(z_query, "z_query")
    y_query = _labels(y_query, "y_query", z_query.shape[0], z_query)
    if (z_db is None) != (y_db is None):
        raise InvalidParameterError("Give both 'z_db' and 'y_db', or neither (leave-one-out).")
    exclude = z_db is None
    if exclude:
        z_db, y_db = z_query, y_query
    else:
        z_db = _embeddings(z_db, "z_db", like=z_query)
        y_db = _labels(y_db, "y_db", z_db.shape[0], z_query)
    idx = torch.from_numpy(nearest_indices(z_query, z_db, k, exclude_self=exclude))
    hits = y_db.cpu()[idx] == y_query.cpu()[:, None]
    return float(hits.double().mean())
