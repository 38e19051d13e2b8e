"""Spectral graph filtering: multiply in the eigenbasis of the graph Laplacian.

Taught in the chapter *Graph neural networks* (book/graph-networks).

The normalised Laplacian :math:`L = I - D^{-1/2} A D^{-1/2} = U \\Lambda U^\\top` of an
undirected graph has orthonormal eigenvectors :math:`U` (the graph's "Fourier modes", from
smooth to oscillating as the eigenvalue :math:`\\lambda` grows from 0 to at most 2). A
signal :math:`x \\in \\mathbb{R}^n` has graph Fourier transform :math:`\\hat x = U^\\top x`,
and a **spectral filter** :math:`g` multiplies each mode by :math:`g(\\lambda)`:

.. math::
   y = U\\, g(\\Lambda)\\, U^\\top x .

Spectral networks (Bruna et al.) learn :math:`g(\\lambda_i)` freely for the :math:`k`
smoothest modes. If instead :math:`g(\\lambda) = \\sum_{p<k} \\theta_p \\lambda^p` is a
polynomial, then :math:`U g(\\Lambda) U^\\top = \\sum_p \\theta_p L^p`: the filter is computed
without any eigendecomposition by :math:`k - 1` rounds of propagation along the edges and
only mixes nodes at most :math:`k - 1` hops apart. That is the bridge from spectral to
spatial layers (ChebNet, then GCN with :math:`k = 2`).

Everything here is dense (an :math:`O(n^3)` eigendecomposition per call) and meant for small
graphs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._validation import InvalidParameterError, check_scalar
from .graph import as_graph, check_node_features, to_dense_adjacency
from .normalize import laplacian

__all__ = ["laplacian_eigenbasis", "spectral_filter", "SpectralConv"]


def laplacian_eigenbasis(graph, num_nodes: int | None = None, normalized: bool = True, dtype=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of the graph's Laplacian.

    Parameters
    ----------
    graph : edge list (2, E) or dense adjacency (n, n)
        Undirected (symmetric) graph.
    num_nodes : int, optional
    normalized : bool, default True
        :math:`I - D^{-1/2} A D^{-1/2}` or, with ``False``, :math:`D - A`.
    dtype : torch.dtype, optional
        Computed in this dtype (default: the adjacency's, float32 for an edge list).

    Returns
    -------
    eigenvalues : tensor (n,)
    eigenvectors : tensor (n, n)
        Column ``i`` is the mode of ``eigenvalues[i]``.

    Examples
    --------
    >>> import networkx as nx
    >>> from dlcourse.gnn.graph import from_networkx
    >>> lam, U = laplacian_eigenbasis(from_networkx(nx.cycle_graph(4)), dtype=torch.float64)
    >>> lam.round(decimals=6).tolist()
    [0.0, 1.0, 1.0, 2.0]
    """
    ei, w, n = as_graph(graph, num_nodes=num_nodes)
    a = to_dense_adjacency(ei, n, w)
    if dtype is not None:
        a = a.to(dtype)
    if not torch.allclose(a, a.T):
        raise InvalidParameterError(
            "The Laplacian eigenbasis needs an undirected (symmetric) graph."
        )
    return torch.linalg.eigh(laplacian(a, normalized=normalized))


def spectral_filter(
    graph, x: torch.Tensor, g: Callable[[torch.Tensor], torch.Tensor], normalized: bool = True
) -> torch.Tensor:
    """Apply the spectral filter :math:`y = U g(\\Lambda) U^\\top x` to node signals ``x``.

    Parameters
    ----------
    graph : edge list or dense adjacency of an undirected graph with n nodes
    x : tensor of shape (n,) or (n, d)
    g : callable
        Maps the eigenvalues (n,) to the multipliers (n,) (e.g. ``lambda lam: 1 - lam / 2``).
    normalized : bool
        Which Laplacian (see :func:`laplacian_eigenbasis`).

    Examples
    --------
    >>> ring = torch.tensor([[0, 1, 2, 3, 1, 2, 3, 0], [1, 2, 3, 0, 0, 1, 2, 3]])
    >>> x = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)  # fastest mode of a 4-cycle
    >>> y = spectral_filter(ring, x, lambda lam: (lam < 1).to(lam.dtype))  # low-pass: removed
    >>> y.abs().max() < 1e-12
    tensor(True)
    """
    if not isinstance(x, torch.Tensor) or x.ndim not in (1, 2):
        raise InvalidParameterError("The 'x' argument must be a tensor of shape (n,) or (n, d).")
    lam, u = laplacian_eigenbasis(graph, x.shape[0], normalized, dtype=x.dtype)
    lam, u = lam.to(x.device), u.to(x.device)
    gains = g(lam)
    if not isinstance(gains, torch.Tensor) or gains.shape != lam.shape:
        raise InvalidParameterError(
            f"g must return a tensor of shape {tuple(lam.shape)}, one per eigenvalue."
        )
    coeffs = u.T @ x
    coeffs = gains * coeffs if x.ndim == 1 else gains[:, None] * coeffs
    return u @ coeffs


class SpectralConv(nn.Module):
    """Spectral graph convolution with learned multipliers in the Laplacian eigenbasis.

    For input channel :math:`c` and output channel :math:`o`, the filter
    :math:`g_{co}(\\lambda)` is applied to :math:`x_{:,c}` and the results are summed over
    :math:`c`:

    * ``polynomial=False`` (spectral network of Bruna et al.): free multipliers
      :math:`g_{co}(\\lambda_i) = \\theta_{i,c,o}` on the :math:`k` smoothest eigenvectors
      (smallest :math:`\\lambda`); the other modes are dropped;
    * ``polynomial=True``: :math:`g_{co}(\\lambda) = \\sum_{p<k} \\theta_{p,c,o}\\lambda^p` on
      every mode, i.e. :math:`Y = \\sum_{p<k} L^p X \\Theta_p`, a :math:`(k - 1)`-hop local
      filter.

    Parameters
    ----------
    in_dim, out_dim : int
    k : int
        Number of eigenvectors kept (free filter), or of polynomial coefficients.
    polynomial : bool, default False
    normalized : bool, default True
        Normalised Laplacian (eigenvalues in [0, 2]) or combinatorial :math:`D - A`.
    bias : bool, default True

    Attributes
    ----------
    theta : Parameter of shape (k, in_dim, out_dim)
    bias : Parameter (out_dim,) or None

    Notes
    -----
    ``forward(x, graph)``: one undirected graph given as an edge list or dense adjacency
    with n nodes. With the free filter and n < k, only the first n rows of ``theta`` are
    used. The free filter is defined up to the choice of eigenvectors: when eigenvalues repeat
    (symmetric graphs, several components) and ``theta`` differs within their eigenspace,
    the output depends on that arbitrary choice, and the layer cannot be moved to another
    graph. The polynomial filter has neither problem.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> conv = SpectralConv(3, 2, k=4)
    >>> path = torch.tensor([[0, 1, 2, 3, 4, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0, 1, 2, 3, 4]])
    >>> conv(torch.randn(6, 3), path).shape
    torch.Size([6, 2])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        k: int,
        polynomial: bool = False,
        normalized: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_dim = check_scalar(in_dim, "in_dim", int, low=1)
        self.out_dim = check_scalar(out_dim, "out_dim", int, low=1)
        self.k = check_scalar(k, "k", int, low=1)
        self.polynomial = bool(polynomial)
        self.normalized = bool(normalized)
        self.theta = nn.Parameter(torch.empty(k, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        fan_in = self.in_dim * (self.k if self.polynomial else 1)
        nn.init.normal_(self.theta, std=fan_in**-0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        check_node_features(x, self.in_dim)
        n = x.shape[0]
        with torch.no_grad():  # the graph is data: no gradient w.r.t. the eigenvectors
            lam, u = laplacian_eigenbasis(graph, n, self.normalized, dtype=x.dtype)
        lam, u = lam.to(x.device), u.to(x.device)
        if self.polynomial:
            z = u.T @ x  # (n, in): every mode
            powers = lam[None, :] ** torch.arange(self.k, device=x.device, dtype=x.dtype)[:, None]
            # y_hat[i, o] = sum_p lam_i^p sum_c z[i, c] theta[p, c, o]
            y_hat = torch.einsum("pi,ic,pco->io", powers, z, self.theta)
            out = u @ y_hat
        else:
            m = min(self.k, n)
            uk = u[:, :m]  # the m smoothest modes
            z = uk.T @ x  # (m, in)
            y_hat = torch.einsum("ic,ico->io", z, self.theta[:m])
            out = uk @ y_hat
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"{self.in_dim}, {self.out_dim}, k={self.k}, polynomial={self.polynomial}, "
            f"normalized={self.normalized}"
        )
