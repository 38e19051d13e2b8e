"""The normalised adjacency of graph convolution, and graph Laplacians.

Taught in the chapter *Graph neural networks* (book/graph-networks).

With self loops :math:`\\tilde A = A + I` and degrees :math:`\\tilde d_v = \\sum_u \\tilde A_{vu}`,
the symmetrically normalised adjacency of a graph convolutional network (GCN) is

.. math::
   \\hat A = \\tilde D^{-1/2}\\, \\tilde A\\, \\tilde D^{-1/2}, \\qquad
   \\hat A_{vu} = \\frac{\\tilde A_{vu}}{\\sqrt{\\tilde d_v\\, \\tilde d_u}},

so that node :math:`v` sums its neighbours' features with the coefficients
:math:`c_{vu} = 1/\\sqrt{\\deg u \\deg v}`. :func:`normalized_adjacency` builds the dense
matrix; :func:`gcn_norm` gives the same coefficients as one weight per edge of an edge list,
which is what the layers use (it costs :math:`O(E)` instead of :math:`O(n^2)`). A node of
degree zero (possible only without self loops) gets coefficient 0 instead of a division by 0.

The graph Laplacian is :math:`L = D - A` and its normalised form
:math:`L_{\\mathrm{sym}} = I - D^{-1/2} A D^{-1/2}`, with eigenvalues in :math:`[0, 2]`
(:func:`laplacian`); spectral layers filter in its eigenbasis (:mod:`dlcourse.gnn.spectral`).
"""

from __future__ import annotations

import torch

from .._validation import InvalidParameterError, invalid
from .graph import _append_self_loops, _dense, _infer_num_nodes, check_edge_index

__all__ = ["normalized_adjacency", "gcn_norm", "laplacian"]


def _inv_sqrt(d: torch.Tensor) -> torch.Tensor:
    """d^{-1/2}, with 0 where d == 0 (an isolated node receives nothing)."""
    out = d.pow(-0.5)
    return out.masked_fill(d == 0, 0.0)


def check_nonnegative(a: torch.Tensor, name: str) -> None:
    """Raise ValueError if ``a`` has a negative, infinite or nan entry."""
    if a.numel() and not bool(torch.isfinite(a).all()):
        raise InvalidParameterError(f"The '{name}' argument contains inf or nan.")
    if a.numel() and bool((a < 0).any()):
        raise InvalidParameterError(
            f"The '{name}' argument must hold non-negative weights (degrees are square-rooted). "
            f"Got a minimum of {float(a.min()):.4g}."
        )


def normalized_adjacency(adjacency, self_loops: bool = True) -> torch.Tensor:
    """Dense symmetrically normalised adjacency :math:`\\tilde D^{-1/2} (A + I) \\tilde D^{-1/2}`.

    Parameters
    ----------
    adjacency : tensor or array of shape (n, n)
        Non-negative (weighted) adjacency matrix :math:`A`.
    self_loops : bool, default True
        Add the identity first (:math:`\\tilde A = A + I`); with ``False`` the result is
        :math:`D^{-1/2} A D^{-1/2}`.

    Returns
    -------
    Tensor of shape (n, n)
        Floating point, on the input's device; :math:`\\tilde d_v = \\sum_u \\tilde A_{vu}`
        (row sums) and rows/columns of degree-0 nodes are zero.

    Examples
    --------
    >>> A = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> normalized_adjacency(A)  # every degree is 2 with the self loop
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    a = _dense(adjacency)
    check_nonnegative(a, "adjacency")
    if self_loops:
        a = a + torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
    s = _inv_sqrt(a.sum(dim=1))
    return s[:, None] * a * s[None, :]


def gcn_norm(
    edge_index,
    num_nodes: int | None = None,
    edge_weight=None,
    self_loops: bool = True,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge-list form of :func:`normalized_adjacency`: one coefficient per edge.

    After adding a self loop at every node (if ``self_loops``), edge :math:`u \\to v` of
    weight :math:`w_{uv}` gets :math:`w_{uv} / \\sqrt{d_u d_v}`, where
    :math:`d_v = \\sum_{u \\to v} w_{uv}` is the weighted in-degree (the column sums of the
    dense :math:`\\tilde A`; equal to the row sums for an undirected graph, and then
    ``to_dense_adjacency(*gcn_norm(ei, n))`` equals ``normalized_adjacency(A)``).

    Parameters
    ----------
    edge_index : LongTensor of shape (2, E)
    num_nodes : int, optional
        Defaults to ``edge_index.max() + 1``; pass it when the last nodes may be isolated.
    edge_weight : tensor of shape (E,), optional
        Non-negative weights (default 1).
    self_loops : bool, default True
    dtype : torch.dtype, optional
        Dtype of the coefficients when ``edge_weight`` is None (default: torch's default).

    Returns
    -------
    edge_index : LongTensor of shape (2, E') (with the self loops appended)
    coefficients : tensor of shape (E',)

    Examples
    --------
    >>> ei, c = gcn_norm(torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    >>> ei.tolist(), c.round(decimals=6).tolist()  # degrees 2 with the self loop: 1/sqrt(2*2)
    ([[0, 1, 0, 1], [1, 0, 0, 1]], [0.5, 0.5, 0.5, 0.5])
    """
    ei = check_edge_index(edge_index, num_nodes)
    n = num_nodes if num_nodes is not None else _infer_num_nodes(ei)
    if edge_weight is None:
        w = torch.ones(ei.shape[1], dtype=dtype or torch.get_default_dtype(), device=ei.device)
    else:
        w = torch.as_tensor(edge_weight, device=ei.device)
        if w.shape != (ei.shape[1],):
            raise invalid("edge_weight", f"of shape ({ei.shape[1]},)", got=f"{tuple(w.shape)}")
        if not w.is_floating_point():
            w = w.to(dtype or torch.get_default_dtype())
        check_nonnegative(w, "edge_weight")
    return _gcn_norm(ei, n, w, self_loops)


def _gcn_norm(ei: torch.Tensor, n: int, w: torch.Tensor, self_loops: bool):
    """gcn_norm on arguments already checked: (E,) weights w, edges inside 0..n-1."""
    if self_loops:
        ei, w = _append_self_loops(ei, n, w)
    s = _inv_sqrt(w.new_zeros(n).index_add_(0, ei[1], w))  # weighted in-degrees
    return ei, s[ei[0]] * w * s[ei[1]]


def laplacian(adjacency, normalized: bool = True) -> torch.Tensor:
    """Graph Laplacian :math:`L = D - A`, or :math:`I - D^{-1/2} A D^{-1/2}` when normalised.

    Both are symmetric positive semi-definite for a symmetric non-negative :math:`A`; the
    normalised one has eigenvalues in :math:`[0, 2]`, and :math:`0` with multiplicity the
    number of connected components. Degrees are row sums; an isolated node's row of
    :math:`D^{-1/2} A D^{-1/2}` is zero, so its diagonal entry of the normalised Laplacian is 1.

    Examples
    --------
    >>> A = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> laplacian(A, normalized=False)
    tensor([[ 1., -1.],
            [-1.,  1.]])
    >>> torch.linalg.eigvalsh(laplacian(A))
    tensor([0., 2.])
    """
    a = _dense(adjacency)
    check_nonnegative(a, "adjacency")
    eye = torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
    if normalized:
        return eye - normalized_adjacency(a, self_loops=False)
    return torch.diag(a.sum(dim=1)) - a
