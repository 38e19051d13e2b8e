"""The linear-chain conditional random field: forward algorithm, marginals, Viterbi, NLL.

Taught in the chapter *Structured prediction* (``book/structured-prediction.ipynb``).

A label sequence :math:`y = (y_0, \\dots, y_{T-1})`, :math:`y_t \\in \\{0, \\dots, K-1\\}`, gets
the score (a negative energy)

.. math::
   s(y, x) = \\sum_{t=0}^{T-1} e_t(y_t) + \\sum_{t=1}^{T-1} A_{y_{t-1} y_t},
   \\qquad p(y \\mid x) = \\frac{e^{s(y, x)}}{Z(x)} = \\frac{e^{-F(y, x)}}{Z(x)},

with emissions :math:`e_t(k)` (from the input ``x``) and a transition matrix :math:`A`. The
partition function :math:`Z = \\sum_y e^{s(y)}` has :math:`K^T` terms, but the chain lets the
**forward algorithm** compute it in :math:`O(T K^2)`:

.. math::
   \\alpha_0(k) = e_0(k), \\qquad
   \\alpha_t(k) = e_t(k) + \\log\\sum_j e^{\\alpha_{t-1}(j) + A_{jk}}, \\qquad
   \\log Z = \\log\\sum_k e^{\\alpha_{T-1}(k)} ,

all in log space (log-sum-exp), so that long chains neither overflow nor underflow. The
**backward** recursion :math:`\\beta_{T-1} = 0`,
:math:`\\beta_t(j) = \\log\\sum_k e^{A_{jk} + e_{t+1}(k) + \\beta_{t+1}(k)}` gives the marginals
:math:`p(y_t = k) = e^{\\alpha_t(k) + \\beta_t(k) - \\log Z}`. Replacing the log-sum-exp by a
max gives **Viterbi**, the most probable sequence. The brute-force versions enumerate all
:math:`K^T` sequences and eliminate them with :func:`dlcourse.ebm.free_energy` at
:math:`\\beta = 1` (:math:`\\log Z = -F_1`): the free-energy view of the chapter on
energy-based models.

Shapes: emissions ``(B, T, K)`` (or ``(T, K)`` for one sequence: the batch axis is then
dropped from the results), transitions ``(K, K)`` with ``A[j, k]`` the score of ``j -> k``,
tags ``(B, T)`` integers.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from .._validation import (
    InvalidParameterError,
    as_tensor,
    check_reduction,
    check_scalar,
    check_torch_seed,
    invalid,
)

__all__ = [
    "chain_score",
    "chain_log_partition",
    "chain_marginals",
    "chain_pair_marginals",
    "chain_viterbi",
    "brute_force_log_partition",
    "brute_force_viterbi",
    "ChainCRF",
]

MAX_ENUMERATION = 2_000_000  # K**T sequences the brute force accepts


def _check(emissions, transitions, caller=None):
    """Return (emissions (B, T, K), transitions (K, K), was_unbatched)."""
    emissions = as_tensor(emissions, "emissions", caller=caller)
    if emissions.ndim not in (2, 3):
        raise invalid(
            "emissions",
            "a tensor of shape (B, T, K) or (T, K)",
            got=f"a tensor of shape {tuple(emissions.shape)}",
            caller=caller,
        )
    if not emissions.is_floating_point():
        emissions = emissions.double()
    unbatched = emissions.ndim == 2
    if unbatched:
        emissions = emissions.unsqueeze(0)
    B, T, K = emissions.shape
    if T == 0:
        raise invalid("emissions", "a non-empty sequence (T >= 1)", got="T = 0", caller=caller)
    if K == 0:
        raise invalid(
            "emissions", "scores for at least one label (K >= 1)", got="K = 0", caller=caller
        )
    transitions = as_tensor(
        transitions, "transitions", dtype=emissions.dtype, like=emissions, caller=caller
    )
    if tuple(transitions.shape) != (K, K):
        raise InvalidParameterError(
            f"The 'transitions' argument{' of ' + caller if caller else ''} must have shape "
            f"(K, K) = ({K}, {K}) to match the K = {K} labels of 'emissions' (shape "
            f"{tuple(emissions.shape if not unbatched else emissions.shape[1:])}). "
            f"Got shape {tuple(transitions.shape)} instead."
        )
    if bool(torch.isnan(emissions).any()) or bool(torch.isnan(transitions).any()):
        raise invalid("emissions", "a tensor without NaN", got="NaN entries", caller=caller)
    return emissions, transitions, unbatched


def _check_tags(tags, emissions, unbatched, caller=None):
    tags = as_tensor(tags, "tags", caller=caller)
    if unbatched and tags.ndim == 1:
        tags = tags.unsqueeze(0)
    B, T, K = emissions.shape
    if tags.is_floating_point() or tags.is_complex() or tags.dtype == torch.bool:
        raise invalid(
            "tags", "an integer tensor of labels", got=f"dtype {tags.dtype}", caller=caller
        )
    if tuple(tags.shape) != (B, T):
        raise InvalidParameterError(
            f"The 'tags' argument{' of ' + caller if caller else ''} must have shape (B, T) = "
            f"({B}, {T}), one label per position of 'emissions'. Got shape "
            f"{tuple(tags.shape)} instead."
        )
    if tags.numel() and (int(tags.min()) < 0 or int(tags.max()) >= K):
        raise InvalidParameterError(
            f"The 'tags' argument{' of ' + caller if caller else ''} must hold labels in "
            f"0 .. {K - 1} (emissions have K = {K} labels). Got labels from {int(tags.min())} "
            f"to {int(tags.max())} instead."
        )
    return tags.to(emissions.device, torch.long)


def _out(x, unbatched):
    return x[0] if unbatched else x


def chain_score(emissions, transitions, tags):
    """The score :math:`s(y) = \\sum_t e_t(y_t) + \\sum_{t \\ge 1} A_{y_{t-1} y_t}` of given tags.

    Parameters
    ----------
    emissions : tensor of shape (B, T, K) or (T, K)
    transitions : tensor of shape (K, K)
    tags : integer tensor of shape (B, T) or (T,)

    Returns
    -------
    tensor of shape (B,) (a scalar for one sequence)

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> A = torch.tensor([[0.0, -1.0], [0.5, 0.0]])
    >>> float(chain_score(e, A, torch.tensor([0, 1])))  # 1 + 2 - 1
    2.0
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "chain_score")
    tags = _check_tags(tags, emissions, unbatched, "chain_score")
    return _out(_score(emissions, transitions, tags), unbatched)


def _score(emissions, transitions, tags):
    s = emissions.gather(2, tags.unsqueeze(2)).squeeze(2).sum(1)
    if tags.shape[1] > 1:
        s = s + transitions[tags[:, :-1], tags[:, 1:]].sum(1)
    return s


def _forward(emissions, transitions):
    """alpha of shape (B, T, K), in log space."""
    alphas = [emissions[:, 0]]
    for t in range(1, emissions.shape[1]):
        prev = alphas[-1].unsqueeze(2) + transitions.unsqueeze(0)  # (B, j, k)
        alphas.append(torch.logsumexp(prev, dim=1) + emissions[:, t])
    return torch.stack(alphas, dim=1)


def _backward(emissions, transitions):
    """beta of shape (B, T, K), in log space (beta_{T-1} = 0)."""
    B, T, K = emissions.shape
    betas = [emissions.new_zeros(B, K)]
    for t in range(T - 2, -1, -1):
        nxt = (emissions[:, t + 1] + betas[-1]).unsqueeze(1) + transitions.unsqueeze(0)
        betas.append(torch.logsumexp(nxt, dim=2))  # (B, j)
    return torch.stack(betas[::-1], dim=1)


def chain_log_partition(emissions, transitions):
    """:math:`\\log Z = \\log \\sum_y e^{s(y)}` by the forward algorithm, in :math:`O(T K^2)`.

    Parameters
    ----------
    emissions : tensor of shape (B, T, K) or (T, K)
        Emission scores :math:`e_t(k)`.
    transitions : tensor of shape (K, K)
        ``transitions[j, k]`` is the score :math:`A_{jk}` of label ``j`` followed by ``k``.

    Returns
    -------
    tensor of shape (B,) (a scalar for one sequence), differentiable.

    Examples
    --------
    >>> import torch
    >>> e = torch.zeros(3, 2)  # 3 positions, 2 labels, all scores 0: Z = 2**3
    >>> round(float(chain_log_partition(e, torch.zeros(2, 2))), 6) == round(3 * math.log(2), 6)
    True
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "chain_log_partition")
    alpha = _forward(emissions, transitions)
    return _out(torch.logsumexp(alpha[:, -1], dim=1), unbatched)


def chain_marginals(emissions, transitions):
    """Marginals :math:`p(y_t = k \\mid x)` by the forward-backward algorithm.

    .. math:: p(y_t = k \\mid x) = e^{\\alpha_t(k) + \\beta_t(k) - \\log Z}

    Parameters
    ----------
    emissions : tensor of shape (B, T, K) or (T, K)
    transitions : tensor of shape (K, K)

    Returns
    -------
    tensor of shape (B, T, K) (or (T, K)); every row sums to 1.

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    >>> bool(torch.allclose(chain_marginals(e, torch.zeros(2, 2)).sum(-1), torch.ones(2)))
    True
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "chain_marginals")
    alpha = _forward(emissions, transitions)
    beta = _backward(emissions, transitions)
    # log Z = logsumexp_k(alpha_t + beta_t) at every t: normalising position by position is
    # the same in exact arithmetic and keeps float32 accurate when log Z is large
    return _out(torch.softmax(alpha + beta, dim=2), unbatched)


def chain_pair_marginals(emissions, transitions):
    """Pair marginals :math:`p(y_{t-1} = j, y_t = k \\mid x)` for t = 1 .. T-1.

    .. math::
       p(y_{t-1} = j, y_t = k)
       = e^{\\alpha_{t-1}(j) + A_{jk} + e_t(k) + \\beta_t(k) - \\log Z}

    Their sum over t is the expected number of ``j -> k`` transitions, the "expected feature
    count" in the gradient of the negative log-likelihood with respect to :math:`A`.

    Returns
    -------
    tensor of shape (B, T - 1, K, K) (or (T - 1, K, K)).

    Examples
    --------
    >>> import torch
    >>> P = chain_pair_marginals(torch.zeros(3, 2), torch.zeros(2, 2))
    >>> P.shape, float(P[0].sum())
    (torch.Size([2, 2, 2]), 1.0)
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "chain_pair_marginals")
    alpha = _forward(emissions, transitions)
    beta = _backward(emissions, transitions)
    logp = (
        alpha[:, :-1, :, None]
        + transitions[None, None]
        + (emissions[:, 1:] + beta[:, 1:])[:, :, None, :]
    )
    B, T1, K, _ = logp.shape
    # normalised per t (the sum over j, k is log Z at every t), as in chain_marginals
    return _out(torch.softmax(logp.reshape(B, T1, K * K), dim=2).reshape(B, T1, K, K), unbatched)


def chain_viterbi(emissions, transitions):
    """The most probable sequence :math:`\\arg\\max_y s(y)` by dynamic programming (Viterbi).

    .. math::
       \\delta_0(k) = e_0(k), \\quad
       \\delta_t(k) = e_t(k) + \\max_j \\big(\\delta_{t-1}(j) + A_{jk}\\big),

    then backtracking from :math:`\\arg\\max_k \\delta_{T-1}(k)`. On ties the smallest label wins.

    Returns
    -------
    tags : long tensor of shape (B, T) (or (T,))
    score : tensor of shape (B,) (or a scalar), the best score :math:`\\max_y s(y)`

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> A = torch.tensor([[0.0, -5.0], [-5.0, 0.0]])  # switching is expensive
    >>> tags, score = chain_viterbi(e, A)
    >>> tags.tolist(), float(score)
    ([0, 0, 0], 2.0)
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "chain_viterbi")
    with torch.no_grad():
        B, T, K = emissions.shape
        delta = emissions[:, 0]
        back = []
        for t in range(1, T):
            cand = delta.unsqueeze(2) + transitions.unsqueeze(0)  # (B, j, k)
            best, arg = cand.max(dim=1)
            back.append(arg)
            delta = best + emissions[:, t]
        score, last = delta.max(dim=1)
        tags = [last]
        for arg in reversed(back):
            last = arg.gather(1, last.unsqueeze(1)).squeeze(1)
            tags.append(last)
        tags = torch.stack(tags[::-1], dim=1)
    return _out(tags, unbatched), _out(score, unbatched)


def _all_sequences(T, K, device):
    if K**T > MAX_ENUMERATION:
        raise InvalidParameterError(
            f"The brute force enumerates K**T = {K}**{T} = {K**T} sequences, more than "
            f"{MAX_ENUMERATION}: use a shorter chain or the forward algorithm."
        )
    seqs = torch.tensor(list(itertools.product(range(K), repeat=T)), dtype=torch.long)
    return seqs.to(device)


def _all_scores(emissions, transitions):
    B, T, K = emissions.shape
    seqs = _all_sequences(T, K, emissions.device)  # (K**T, T)
    n = seqs.shape[0]
    scores = emissions[:, torch.arange(T, device=emissions.device)[None, :], seqs].sum(-1)
    if T > 1:
        scores = scores + transitions[seqs[:, :-1], seqs[:, 1:]].sum(1)[None, :]
    return seqs, scores.reshape(B, n)


def brute_force_log_partition(emissions, transitions):
    """:math:`\\log Z` by enumerating all :math:`K^T` sequences (a reference for tests).

    The energies :math:`F(y) = -s(y)` of all sequences are eliminated with
    :func:`dlcourse.ebm.free_energy` at :math:`\\beta = 1`: :math:`\\log Z = -F_1`.

    Examples
    --------
    >>> import torch
    >>> e, A = torch.randn(4, 3, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
    >>> bool(torch.isclose(brute_force_log_partition(e, A), chain_log_partition(e, A)))
    True
    """
    from ..ebm import free_energy

    emissions, transitions, unbatched = _check(emissions, transitions, "brute_force_log_partition")
    _, scores = _all_scores(emissions, transitions)
    return _out(-free_energy(-scores, beta=1.0, dim=-1), unbatched)


def brute_force_viterbi(emissions, transitions):
    """The best sequence and its score by enumerating all :math:`K^T` sequences.

    Returns ``(tags, score)`` like :func:`chain_viterbi`; on ties the lexicographically first
    sequence wins.

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> A = torch.tensor([[0.0, -5.0], [-5.0, 0.0]])
    >>> tags, score = brute_force_viterbi(e, A)
    >>> tags.tolist(), float(score)
    ([0, 0, 0], 2.0)
    """
    emissions, transitions, unbatched = _check(emissions, transitions, "brute_force_viterbi")
    with torch.no_grad():
        seqs, scores = _all_scores(emissions, transitions)
        score, idx = scores.max(dim=1)
    return _out(seqs[idx], unbatched), _out(score, unbatched)


class ChainCRF(nn.Module):
    """A linear-chain CRF on feature sequences: linear emissions plus a transition matrix.

    The emissions are :math:`e_t = W x_t + b` (``self.emission``, an ``nn.Linear``) and the
    transitions :math:`A` (``self.transitions``, initialised to zero). Training minimises the
    negative log-likelihood :math:`\\log Z(x) - s(y, x)`, whose gradient is expected minus
    empirical feature counts:

    .. math::
       \\frac{\\partial\\, \\mathrm{nll}}{\\partial A_{jk}} =
       \\sum_t p(y_{t-1} = j, y_t = k \\mid x) - \\#\\{t : y_{t-1} = j, y_t = k\\}, \\qquad
       \\frac{\\partial\\, \\mathrm{nll}}{\\partial W}
       = \\sum_t \\big(p(y_t \\mid x) - \\mathbb{1}_{y_t}\\big) x_t^\\top .

    Parameters
    ----------
    n_labels : int >= 1
        K, the number of labels.
    n_features : int >= 1
        The size of the feature vector :math:`x_t` at each position.
    seed : int, torch.Generator or None
        Seeds the initialisation of ``emission`` (torch's default initialisation, drawn from
        the seed's generator; the global generator is not touched when a seed is given).

    Examples
    --------
    >>> import torch
    >>> crf = ChainCRF(3, 5, seed=0)
    >>> x = torch.randn(2, 7, 5)
    >>> e = crf(x)
    >>> e.shape, crf.viterbi(e)[0].shape, crf.nll(e, torch.zeros(2, 7, dtype=torch.long)).ndim
    (torch.Size([2, 7, 3]), torch.Size([2, 7]), 0)
    """

    def __init__(self, n_labels: int, n_features: int, seed=None):
        super().__init__()
        n_labels = check_scalar(n_labels, "n_labels", int, low=1)
        n_features = check_scalar(n_features, "n_features", int, low=1)
        self.n_labels, self.n_features = n_labels, n_features
        generator = check_torch_seed(seed)
        if generator is None:
            self.emission = nn.Linear(n_features, n_labels)  # torch's global generator
        else:
            with torch.random.fork_rng(devices=[]):  # the global generator is left as it was
                self.emission = nn.Linear(n_features, n_labels)
            bound = 1 / math.sqrt(n_features)
            with torch.no_grad():
                self.emission.weight.uniform_(-bound, bound, generator=generator)
                self.emission.bias.uniform_(-bound, bound, generator=generator)
        self.transitions = nn.Parameter(torch.zeros(n_labels, n_labels))

    def forward(self, x):
        """Emissions :math:`W x_t + b`, shape (B, T, K), of features ``x`` (B, T, n_features)."""
        x = as_tensor(x, "x", caller="ChainCRF.forward")
        if x.ndim not in (2, 3) or x.shape[-1] != self.n_features:
            raise invalid(
                "x",
                f"a tensor of shape (B, T, {self.n_features}) or (T, {self.n_features})",
                got=f"a tensor of shape {tuple(x.shape)}",
                caller="ChainCRF.forward",
            )
        return self.emission(x.to(self.emission.weight.dtype))

    def _t(self, emissions):
        return (
            self.transitions.to(emissions.dtype) if torch.is_tensor(emissions) else self.transitions
        )

    def score(self, emissions, tags):
        """:func:`chain_score` with this CRF's transitions."""
        return chain_score(emissions, self._t(emissions), tags)

    def log_partition(self, emissions):
        """:func:`chain_log_partition` with this CRF's transitions: shape (B,)."""
        return chain_log_partition(emissions, self._t(emissions))

    def marginals(self, emissions):
        """:func:`chain_marginals` with this CRF's transitions: shape (B, T, K)."""
        return chain_marginals(emissions, self._t(emissions))

    def pair_marginals(self, emissions):
        """:func:`chain_pair_marginals` with this CRF's transitions: shape (B, T-1, K, K)."""
        return chain_pair_marginals(emissions, self._t(emissions))

    def viterbi(self, emissions):
        """:func:`chain_viterbi` with this CRF's transitions: ``(tags, score)``."""
        return chain_viterbi(emissions, self._t(emissions))

    def nll(self, emissions, tags, reduction: str = "mean"):
        """Negative log-likelihood :math:`\\log Z - s(y)` of the tags, per sequence.

        ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape (B,)).
        """
        reduction = check_reduction(reduction, "ChainCRF.nll")
        A = self._t(emissions)
        em, A, unbatched = _check(emissions, A, "ChainCRF.nll")
        tags = _check_tags(tags, em, unbatched, "ChainCRF.nll")
        per = torch.logsumexp(_forward(em, A)[:, -1], dim=1) - _score(em, A, tags)
        if reduction == "mean":
            return per.mean()
        if reduction == "sum":
            return per.sum()
        return _out(per, unbatched)
