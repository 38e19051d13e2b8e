"""Word vectors from co-occurrence counts: PPMI, truncated SVD, cosine neighbours and analogies.

Taught in :ref:`embeddings` (``book/embeddings.ipynb``).

*You shall know a word by the company it keeps* (Firth 1957). Count how often word :math:`w`
occurs within ``window`` positions of context word :math:`c`, giving a sparse matrix
:math:`C \\in \\mathbb{N}^{V\\times V}`. Positive pointwise mutual information reweights it,

.. math::
   \\operatorname{PPMI}(w, c) = \\max\\Big(0,\\ \\log \\frac{P(w, c)}{P(w)\\,P_\\alpha(c)}\\Big),
   \\quad P(w, c) = \\frac{C_{wc}}{\\sum C},\\ P(w) = \\frac{\\sum_c C_{wc}}{\\sum C},\\
   P_\\alpha(c) = \\frac{(\\sum_w C_{wc})^\\alpha}{\\sum_{c'} (\\sum_w C_{wc'})^\\alpha},

(:math:`\\alpha = 0.75` smooths the context distribution as word2vec's negative sampling does;
Levy, Goldberg and Dagan 2015), and a truncated SVD :math:`M \\approx U_d S_d V_d^\\top` gives
dense vectors :math:`E = U_d S_d^{p}` (:math:`p = 1/2` by default; Levy and Goldberg 2014 show that
skip-gram with negative sampling factorises a shifted PMI matrix). Words are compared by cosine
similarity; the analogy *a is to b as c is to ?* is answered by the word closest to
:math:`\\hat e_b - \\hat e_a + \\hat e_c` (unit vectors; a, b and c themselves excluded).

A vocabulary is a sequence of distinct words; word ``vocab[i]`` has row ``i`` of ``E``.
The corpora ship with installed packages: :func:`pydoc_corpus` (Python's own documentation,
always there) and :func:`lee_corpus` (gensim's Lee news corpus, when gensim is installed).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .._validation import InvalidParameterError, as_float_array, check_scalar, check_seed

__all__ = [
    "tokenize",
    "build_vocab",
    "pydoc_corpus",
    "lee_corpus",
    "cooccurrence",
    "ppmi",
    "svd_embeddings",
    "cosine_similarities",
    "nearest",
    "analogy",
]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and inner apostrophes; numbers and symbols dropped).

    Examples
    --------
    >>> tokenize("Don't have tejuino before you drive!")
    ["don't", 'have', 'tejuino', 'before', 'you', 'drive']
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' argument of tokenize must be a str. Got {type(text).__name__} instead."
        )
    return _WORD.findall(text.lower())


def _sentences(tokens, name: str = "tokens") -> list[list[str]]:
    """A flat list of words becomes one sentence; a list of lists stays as it is."""
    if isinstance(tokens, str):
        raise InvalidParameterError(
            f"The '{name}' argument must be a list of words or a list of sentences (lists of "
            "words), not one str: call tokenize(text) first."
        )
    tokens = list(tokens)
    if all(isinstance(t, str) for t in tokens):
        return [tokens]
    if all(isinstance(t, (list, tuple)) and all(isinstance(w, str) for w in t) for t in tokens):
        return [list(t) for t in tokens]
    raise InvalidParameterError(
        f"The '{name}' argument must be a list of words or a list of sentences (lists of words)."
    )


def build_vocab(tokens, min_count: int = 1, max_size: int | None = None) -> list[str]:
    """Words that occur at least ``min_count`` times, most frequent first (ties alphabetical).

    Examples
    --------
    >>> build_vocab(["b", "a", "b", "c", "a", "b"], min_count=2)
    ['b', 'a']
    """
    min_count = check_scalar(min_count, "min_count", int, low=1)
    if max_size is not None:
        max_size = check_scalar(max_size, "max_size", int, low=1)
    counts = Counter(w for s in _sentences(tokens) for w in s)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return words[:max_size] if max_size is not None else words


def pydoc_corpus() -> list[list[str]]:
    """Python's language reference, shipped with Python (``pydoc_data.topics``), as sentences.

    About 70,000 words of technical English, one sentence per line-joined paragraph split at
    full stops, tokenised with :func:`tokenize`. No download: the text is part of the standard
    library.
    """
    from pydoc_data.topics import topics

    sentences = []
    for key in sorted(topics):
        for part in re.split(r"[.!?]\s|\n\s*\n", topics[key]):
            words = tokenize(part)
            if len(words) >= 2:
                sentences.append(words)
    return sentences


def lee_corpus() -> list[list[str]]:
    """The Lee background news corpus from gensim's test data, one document per list.

    About 300 news articles (~60,000 words). Needs gensim (a book/dev dependency only);
    raises ``ModuleNotFoundError`` with an explanation when gensim is not installed.
    """
    try:
        from gensim.test.utils import datapath  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise ModuleNotFoundError(
            "lee_corpus needs gensim (pip install gensim): the Lee corpus ships in its test data."
        ) from None
    with open(datapath("lee_background.cor"), encoding="utf8") as fh:
        return [words for line in fh if len(words := tokenize(line)) >= 2]


def _index(vocab) -> dict:
    if isinstance(vocab, str) or not hasattr(vocab, "__iter__"):
        raise InvalidParameterError(
            "The 'vocab' argument must be a list of distinct words (vocab[i] is row i)."
        )
    index = {w: i for i, w in enumerate(vocab)}
    if len(index) != len(vocab):
        raise InvalidParameterError("The 'vocab' argument holds a word twice.")
    return index


def cooccurrence(tokens, vocab, window: int = 2):
    """Symmetric co-occurrence counts within ``window`` positions, a SciPy sparse CSR matrix.

    :math:`C_{wc}` is the number of times ``c`` occurs at most ``window`` positions before or
    after ``w`` in the same sentence. Words outside ``vocab`` are removed first (as word2vec
    does), so the window spans ``window`` in-vocabulary words.

    Parameters
    ----------
    tokens : list of str, or list of lists of str
        One token stream, or sentences (windows never cross a sentence boundary).
    vocab : sequence of str
    window : int >= 1

    Returns
    -------
    scipy.sparse.csr_matrix of shape (V, V), float64, symmetric

    Examples
    --------
    >>> C = cooccurrence(["a", "b", "a", "c"], ["a", "b", "c"], window=1)
    >>> C.toarray()
    array([[0., 2., 1.],
           [2., 0., 0.],
           [1., 0., 0.]])
    """
    import scipy.sparse as sp

    window = check_scalar(window, "window", int, low=1)
    index = _index(vocab)
    V = len(index)
    ids, sent = [], []
    for k, s in enumerate(_sentences(tokens)):
        row = [index[w] for w in s if w in index]
        ids.extend(row)
        sent.extend([k] * len(row))
    ids_a = np.asarray(ids, dtype=np.int64)
    sent_a = np.asarray(sent, dtype=np.int64)
    rows, cols = [], []
    for off in range(1, window + 1):
        ok = sent_a[:-off] == sent_a[off:]
        a, b = ids_a[:-off][ok], ids_a[off:][ok]
        rows += [a, b]
        cols += [b, a]
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    C = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(V, V)).tocsr()
    C.sum_duplicates()
    return C


def ppmi(C, alpha: float = 1.0):
    """Positive pointwise mutual information of a co-occurrence matrix.

    Parameters
    ----------
    C : scipy.sparse matrix or array-like of shape (V, V_c)
        Non-negative counts, rows are words and columns contexts.
    alpha : float in (0, 1]
        Context smoothing: the context probabilities are raised to ``alpha`` and renormalised
        (0.75 as in word2vec; 1 is plain PPMI).

    Returns
    -------
    scipy.sparse.csr_matrix or ndarray
        Sparse in, sparse out (the zeros of ``C`` stay zeros, since :math:`\\log 0 = -\\infty`);
        an array in gives an ndarray out.

    Examples
    --------
    >>> import numpy as np
    >>> M = ppmi(np.array([[2.0, 0.0], [0.0, 2.0]]))
    >>> np.allclose(M, np.log(2) * np.eye(2))
    True
    """
    import scipy.sparse as sp

    alpha = check_scalar(alpha, "alpha", float, low=0, high=1, closed="right")
    sparse = sp.issparse(C)
    if sparse:
        C = sp.csr_matrix(C, dtype=np.float64, copy=True)
        if C.ndim != 2 or not np.all(np.isfinite(C.data)):
            raise InvalidParameterError("The 'C' argument of ppmi must hold finite counts.")
        data = C.data
    else:
        C = as_float_array(C, "C", ndim=2)
        data = C
    if (data < 0).any():
        raise InvalidParameterError("The 'C' argument of ppmi must hold counts >= 0.")
    total = float(data.sum())
    if total == 0:
        raise InvalidParameterError("The 'C' argument of ppmi is all zeros: nothing to count.")
    row = np.asarray(C.sum(axis=1)).ravel()
    col = np.asarray(C.sum(axis=0)).ravel()
    p_col = col**alpha
    p_col = p_col / p_col.sum()
    p_row = row / total
    if sparse:
        C.sum_duplicates()
        C.eliminate_zeros()
        rr = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
        pmi = np.log(C.data / total) - np.log(p_row[rr]) - np.log(p_col[C.indices])
        C.data = np.maximum(pmi, 0.0)
        C.eliminate_zeros()
        return C
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 where C is 0: masked below
        pmi = np.log(C / total) - np.log(p_row)[:, None] - np.log(p_col)[None, :]
    out = np.maximum(np.where(C > 0, pmi, 0.0), 0.0)
    return out


def svd_embeddings(M, dim: int, power: float = 0.5, seed=0):
    """Dense word vectors :math:`E = U_d S_d^{p}` from the truncated SVD of ``M``.

    Parameters
    ----------
    M : scipy.sparse matrix or array-like of shape (V, V_c)
        Usually a PPMI matrix.
    dim : int, 1 <= dim < min(V, V_c)
    power : float >= 0
        :math:`p`, the weight of the singular values (0: :math:`U_d` alone; 1: the rank-d
        approximation's row space; 0.5, symmetric, works best for similarity).
    seed : int, numpy or torch Generator, or None
        Starting vector of the sparse solver (ARPACK); the result does not depend on it beyond
        rounding. Signs are fixed so that the largest entry of each column is positive.

    Returns
    -------
    ndarray of shape (V, dim), columns by decreasing singular value

    Examples
    --------
    >>> import numpy as np
    >>> E = svd_embeddings(np.diag([3.0, 2.0, 1.0]), dim=2, power=1.0)
    >>> np.round(E, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    array([[3., 0.],
           [0., 2.],
           [0., 0.]])
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    power = check_scalar(power, "power", float, low=0)
    if not sp.issparse(M):
        M = as_float_array(M, "M", ndim=2)
    dim = check_scalar(dim, "dim", int, low=1)
    if dim >= min(M.shape):
        raise InvalidParameterError(
            f"The 'dim' argument of svd_embeddings must be smaller than min(M.shape) = "
            f"{min(M.shape)}. Got {dim}."
        )
    rng = check_seed(seed)
    v0 = rng.standard_normal(min(M.shape))
    U, S, _ = svds(sp.csr_matrix(M, dtype=np.float64), k=dim, v0=v0)
    order = np.argsort(S)[::-1]
    U, S = U[:, order], S[order]
    flip = np.sign(U[np.abs(U).argmax(axis=0), np.arange(dim)])
    flip[flip == 0] = 1
    return U * flip * S**power


def _matrix(E):
    return as_float_array(E, "E", ndim=2)


def _unit_rows(E):
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.maximum(norms, 1e-12)


def _lookup(index: dict, word, name: str) -> int:
    if not isinstance(word, str):
        raise InvalidParameterError(
            f"The '{name}' argument must be a word (a str). Got {type(word).__name__} instead."
        )
    if word not in index:
        raise InvalidParameterError(
            f"The word {word!r} ('{name}') is not in the vocabulary ({len(index)} words): pick "
            "one that occurs in the corpus often enough to be kept."
        )
    return index[word]


def _check_rows(E, index):
    if E.shape[0] != len(index):
        raise InvalidParameterError(
            f"'E' must have one row per word of 'vocab': {len(index)} rows. Got {E.shape[0]}."
        )


def cosine_similarities(E, vocab, word: str):
    """Cosine similarity of ``word``'s vector with every row of ``E``, shape (V,).

    Examples
    --------
    >>> import numpy as np
    >>> cosine_similarities(np.array([[1.0, 0.0], [1.0, 1.0]]), ["x", "y"], "x").round(4)
    array([1.    , 0.7071])
    """
    E = _matrix(E)
    index = _index(vocab)
    _check_rows(E, index)
    U = _unit_rows(E)
    return U @ U[_lookup(index, word, "word")]


def nearest(E, vocab, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded).

    Returns
    -------
    list of (word, similarity), most similar first

    Examples
    --------
    >>> import numpy as np
    >>> E = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> [w for w, _ in nearest(E, ["cat", "dog", "car"], "cat", k=2)]
    ['dog', 'car']
    """
    k = check_scalar(k, "k", int, low=1)
    sims = cosine_similarities(E, vocab, word)
    index = _index(vocab)
    i = index[word]
    sims = sims.copy()
    sims[i] = -np.inf
    k = min(k, len(sims) - 1)
    top = np.argsort(-sims, kind="stable")[:k]
    return [(vocab[j], float(sims[j])) for j in top]


def analogy(E, vocab, a: str, b: str, c: str) -> str:
    """Answer *a : b :: c : ?* by the word closest to :math:`\\hat e_b - \\hat e_a + \\hat e_c`.

    The three query words are excluded from the answers (3CosAdd, Mikolov et al. 2013).

    Examples
    --------
    >>> import numpy as np
    >>> vocab = ["man", "woman", "king", "queen", "apple"]
    >>> E = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=float)
    >>> analogy(E, vocab, "man", "woman", "king")
    'queen'
    """
    E = _matrix(E)
    index = _index(vocab)
    _check_rows(E, index)
    ia, ib, ic = (_lookup(index, w, n) for w, n in ((a, "a"), (b, "b"), (c, "c")))
    U = _unit_rows(E)
    target = U[ib] - U[ia] + U[ic]
    sims = U @ target
    sims[[ia, ib, ic]] = -np.inf
    return vocab[int(np.argmax(sims))]
