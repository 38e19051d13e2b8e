"""dlcourse.embed.words: co-occurrence counts, PPMI, SVD vectors, neighbours and analogies.

References: a brute-force count over token positions, PPMI written densely from its definition,
NumPy's dense SVD, a brute-force cosine ranking.
"""

from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from dlcourse._validation import InvalidParameterError
from dlcourse.embed import (
    analogy,
    build_vocab,
    cooccurrence,
    cosine_similarities,
    nearest,
    ppmi,
    pydoc_corpus,
    svd_embeddings,
    tokenize,
)

pytestmark = pytest.mark.timeout(120)

WORDS = (
    "a bottle of tejuino is on the table everybody likes tejuino we make tejuino out of corn"
).split()


def _brute_counts(sentences, vocab, window):
    index = {w: i for i, w in enumerate(vocab)}
    C = np.zeros((len(vocab), len(vocab)))
    for s in sentences:
        ids = [index[w] for w in s if w in index]
        for p, w in enumerate(ids):
            for q in range(max(0, p - window), min(len(ids), p + window + 1)):
                if q != p:
                    C[w, ids[q]] += 1
    return C


@pytest.mark.parametrize("window", [1, 2, 5])
def test_cooccurrence_matches_a_count_over_positions(window):
    rng = np.random.default_rng(0)
    words = list("abcdefg")
    sentences = [list(rng.choice(words, rng.integers(1, 12))) for _ in range(30)]
    vocab = ["a", "b", "c", "d", "e"]  # f and g are out of vocabulary: dropped first
    C = cooccurrence(sentences, vocab, window=window)
    assert sp.issparse(C) and C.shape == (5, 5)
    np.testing.assert_array_equal(C.toarray(), _brute_counts(sentences, vocab, window))
    assert (C != C.T).nnz == 0  # symmetric
    # one flat stream is one sentence
    flat = cooccurrence(WORDS, build_vocab(WORDS), window=window).toarray()
    np.testing.assert_array_equal(flat, _brute_counts([WORDS], build_vocab(WORDS), window))


def _dense_ppmi(C, alpha):
    C = np.asarray(C, float)
    total = C.sum()
    pw = C.sum(1) / total
    pc = C.sum(0) ** alpha
    pc = pc / pc.sum()
    out = np.zeros_like(C)
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            if C[i, j] > 0:
                out[i, j] = max(0.0, np.log(C[i, j] / total / (pw[i] * pc[j])))
    return out


@pytest.mark.parametrize("alpha", [1.0, 0.75])
def test_ppmi_matches_its_definition_sparse_and_dense(alpha):
    rng = np.random.default_rng(1)
    C = rng.poisson(0.7, size=(12, 9)).astype(float)
    want = _dense_ppmi(C, alpha)
    dense = ppmi(C, alpha=alpha)
    assert isinstance(dense, np.ndarray)
    np.testing.assert_allclose(dense, want, atol=1e-12)
    Cs = sp.csr_matrix(C)
    before = Cs.copy()
    sparse = ppmi(Cs, alpha=alpha)
    assert sp.issparse(sparse)
    np.testing.assert_allclose(sparse.toarray(), want, atol=1e-12)
    assert (Cs != before).nnz == 0  # the input is left alone
    assert (dense >= 0).all()


def test_ppmi_checks_its_input():
    with pytest.raises(InvalidParameterError, match="counts >= 0"):
        ppmi(np.array([[1.0, -1.0], [0.0, 1.0]]))
    with pytest.raises(InvalidParameterError, match="all zeros"):
        ppmi(np.zeros((2, 2)))
    with pytest.raises(InvalidParameterError, match="'alpha' argument"):
        ppmi(np.eye(2), alpha=0.0)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_svd_embeddings_match_numpy_up_to_signs(power):
    rng = np.random.default_rng(2)
    M = np.abs(rng.standard_normal((30, 25)))
    U, S, _ = np.linalg.svd(M)
    want = U[:, :6] * S[:6] ** power
    for m in (M, sp.csr_matrix(M)):
        E = svd_embeddings(m, 6, power=power, seed=0)
        assert E.shape == (30, 6)
        # the Gram matrix does not depend on the signs of the singular vectors
        np.testing.assert_allclose(E @ E.T, want @ want.T, atol=1e-8)
        np.testing.assert_allclose(np.abs(E), np.abs(want), atol=1e-8)
    np.testing.assert_allclose(
        svd_embeddings(M, 6, seed=0), svd_embeddings(M, 6, seed=1), atol=1e-10
    )
    with pytest.raises(InvalidParameterError, match="smaller than min"):
        svd_embeddings(M, 25)


def test_nearest_and_cosine_by_brute_force():
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(40)]
    E = rng.standard_normal((40, 8))
    E_before = E.copy()
    sims = cosine_similarities(E, vocab, "w7")
    brute = [float(E[7] @ e / np.linalg.norm(E[7]) / np.linalg.norm(e)) for e in E]
    np.testing.assert_allclose(sims, brute, atol=1e-12)
    got = nearest(E, vocab, "w7", k=5)
    order = [j for j in np.argsort(brute)[::-1] if j != 7][:5]
    assert [w for w, _ in got] == [vocab[j] for j in order]
    np.testing.assert_allclose([s for _, s in got], [brute[j] for j in order], atol=1e-12)
    np.testing.assert_array_equal(E, E_before)
    with pytest.raises(InvalidParameterError, match="'tejuino' .*not in the vocabulary"):
        nearest(E, vocab, "tejuino")
    with pytest.raises(InvalidParameterError, match="one row per word"):
        nearest(E[:5], vocab, "w1")


def test_analogy_by_brute_force_excludes_the_query_words():
    rng = np.random.default_rng(4)
    vocab = [f"w{i}" for i in range(30)]
    E = rng.standard_normal((30, 6))
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    for a, b, c in [(0, 1, 2), (5, 9, 11), (3, 3, 4)]:
        t = U[b] - U[a] + U[c]
        scores = U @ t
        scores[[a, b, c]] = -np.inf
        assert analogy(E, vocab, vocab[a], vocab[b], vocab[c]) == vocab[int(np.argmax(scores))]
    # the answer may not be one of a, b, c even when it would win
    E2 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.5, 0.5]])
    assert analogy(E2, ["a", "b", "c", "d"], "a", "b", "c") == "d"
    with pytest.raises(InvalidParameterError, match="'zz' \\('b'\\) is not in the vocabulary"):
        analogy(E, vocab, "w1", "zz", "w2")


def test_the_pydoc_corpus_gives_sensible_neighbours():
    corpus = pydoc_corpus()
    assert sum(map(len, corpus)) > 50_000
    vocab = build_vocab(corpus, min_count=5)
    E = svd_embeddings(ppmi(cooccurrence(corpus, vocab, window=4), alpha=0.75), 100, seed=0)
    assert "false" in [w for w, _ in nearest(E, vocab, "true", k=3)]


def test_tokenize_and_vocab():
    assert tokenize("A bottle of Tejuino, 2 bottles!") == [
        "a",
        "bottle",
        "of",
        "tejuino",
        "bottles",
    ]
    vocab = build_vocab([["b", "a"], ["b", "c", "a", "b"]])
    assert vocab == ["b", "a", "c"]
    assert Counter(build_vocab(WORDS, max_size=2)) == Counter(["tejuino", "of"])
    with pytest.raises(InvalidParameterError, match="call tokenize"):
        build_vocab("a b c")


def test_lee_corpus_needs_gensim_and_says_so(monkeypatch):
    from dlcourse.embed import lee_corpus

    monkeypatch.setitem(__import__("sys").modules, "gensim.test.utils", None)
    with pytest.raises(ModuleNotFoundError, match="pip install gensim"):
        lee_corpus()


def test_lee_corpus_ships_with_gensim():
    pytest.importorskip("gensim", reason="gensim (a book/dev dependency) is not installed")
    from dlcourse.embed import lee_corpus

    docs = lee_corpus()
    assert len(docs) > 250 and sum(map(len, docs)) > 50_000
    assert all(isinstance(w, str) for w in docs[0])
