"""Benchmark of dlcourse.embed: a learned 2-D metric, PPMI-SVD vs word2vec, sparse PPMI.

1. **kNN accuracy of a learned 2-D embedding.** The chapter's siamese network (784-128-2, hinge
   embedding loss, margin 2, 8 epochs of 8,000 random pairs) on MNIST-5k (4,000 train, 1,000
   test): 5-NN accuracy and precision@10 of the held-out digits, against the raw pixels
   (784-D), PCA to 2-D (scikit-learn) and the same network untrained. The peer for the kNN
   itself is scikit-learn's ``KNeighborsClassifier``, which must give the same accuracy.
2. **PPMI-SVD vs gensim's Word2Vec** on the same corpus (Python's ``pydoc_data`` reference text,
   words seen at least 5 times, window 2, 100 dimensions; word2vec: skip-gram, 5 negatives, 10
   epochs, one worker): the chapter's hand-made analogy set (plurals and past tenses), the mean
   overlap of the 10 nearest neighbours of 200 frequent words, and the CPU time. Skipped, with a
   row that says so, when gensim is not installed.
3. **``ppmi`` on a sparse matrix vs a dense one**: the co-occurrence matrix of the same corpus,
   time and memory of the result (equal values checked).

Run ``python -m tests.benchmarks.bench_embed`` for a table; ``run()`` returns the rows.
"""

from __future__ import annotations

import time

import numpy as np


def _cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def _knn_rows() -> list[dict]:
    import torch
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    from dlcourse.data import load_mnist5k
    from dlcourse.embed import SiameseNet, fit_siamese, knn_accuracy, precision_at_k

    data = load_mnist5k(test_size=0.2, seed=0)
    x_tr, x_te = torch.tensor(data.x_train), torch.tensor(data.x_test)
    y_tr, y_te = data.y_train, data.y_test

    def encoder():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2)
            )

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net, random_net = SiameseNet(encoder()), SiameseNet(encoder())
        t_train, _ = _cpu(
            lambda: fit_siamese(net, x_tr, y_tr, n_pairs=8000, epochs=8, margin=2.0, lr=3e-3)
        )
        pca = PCA(2).fit(data.x_train)
        cands = {
            "siamese (2-D)": (net.embed(x_tr).numpy(), net.embed(x_te).numpy()),
            "raw pixels (784-D)": (data.x_train, data.x_test),
            "PCA (2-D)": (pca.transform(data.x_train), pca.transform(data.x_test)),
            "random network (2-D)": (
                random_net.embed(x_tr).numpy(),
                random_net.embed(x_te).numpy(),
            ),
        }
    finally:
        torch.set_num_threads(previous)
    rows = []
    ours = cands["siamese (2-D)"]
    ref_knn = KNeighborsClassifier(5).fit(ours[0], y_tr).score(ours[1], y_te)
    for name, (a, b) in cands.items():
        acc = knn_accuracy(a, y_tr, b, y_te, k=5)
        p10 = precision_at_k(b, y_te, a, y_tr, k=10)
        rows.append(
            {
                "benchmark": f"MNIST-5k 5-NN accuracy / precision@10: {name}",
                "ours": f"{acc:.3f} / {p10:.3f}",
                "reference": f"sklearn kNN {ref_knn:.3f}" if name.startswith("siamese") else "",
                "ratio": "",
                "goal": "siamese > PCA + 0.3, within 0.08 of raw pixels",
                "note": f"training {t_train:.1f} s CPU" if name.startswith("siamese") else "",
            }
        )
    return rows


NOUNS = ["argument", "object", "method", "attribute", "value", "statement", "expression",
         "function", "class", "name", "string", "type", "element", "operation", "keyword",
         "module", "instance", "character", "item", "exception", "number", "variable", "list",
         "operand", "parameter", "sequence", "key", "integer", "identifier", "byte"]  # fmt: skip
VERBS = ["call", "define", "raise", "return", "evaluate", "execute", "create", "pass", "assign",
         "import", "use", "convert", "search", "ignore", "print"]  # fmt: skip


def _questions(vocab) -> list[tuple[str, str, str, str]]:
    rel = [
        [(w, w + "es" if w.endswith("s") else w + "s") for w in NOUNS],
        [(w, w + "d" if w.endswith("e") else w + "ed") for w in VERBS],
    ]
    known = set(vocab)
    out = []
    for pairs in rel:
        pairs = [(u, v) for u, v in pairs if u in known and v in known]
        out += [(a, b, c, d) for a, b in pairs for c, d in pairs if a != c]
    return out


def _word_rows() -> list[dict]:
    from dlcourse.embed import (
        analogy,
        build_vocab,
        cooccurrence,
        nearest,
        ppmi,
        pydoc_corpus,
        svd_embeddings,
    )

    corpus = pydoc_corpus()

    def pipeline():
        vocab = build_vocab(corpus, min_count=5)
        M = ppmi(cooccurrence(corpus, vocab, window=2), alpha=0.75)
        return vocab, svd_embeddings(M, 100, power=1.0, seed=0)

    pipeline()  # warm-up: the first call imports SciPy's sparse linear algebra
    t_ppmi, (vocab, E) = _cpu(pipeline)
    questions = _questions(vocab)

    def score(E_):
        return np.mean([analogy(E_, vocab, a, b, c) == d for a, b, c, d in questions])

    acc_ppmi = score(E)
    try:
        from gensim.models import Word2Vec
    except ImportError:
        return [
            {
                "benchmark": "PPMI-SVD vs gensim Word2Vec (pydoc corpus)",
                "ours": f"analogies {acc_ppmi:.3f}, {t_ppmi:.2f} s",
                "reference": "gensim not installed: skipped",
                "ratio": "",
                "goal": "",
                "note": "pip install gensim to compare",
            }
        ]
    t_w2v, w2v = _cpu(
        lambda: Word2Vec(
            corpus, vector_size=100, window=2, min_count=5, sg=1, negative=5, workers=1, seed=0,
            epochs=10,
        )
    )  # fmt: skip
    E_w2v = np.stack([w2v.wv[w] for w in vocab])
    acc_w2v = score(E_w2v)
    probe = vocab[20:220]
    overlap = np.mean(
        [
            len(
                {w for w, _ in nearest(E, vocab, p, 10)}
                & {w for w, _ in nearest(E_w2v, vocab, p, 10)}
            )
            / 10
            for p in probe
        ]
    )
    label = f"PPMI-SVD vs gensim Word2Vec, pydoc corpus ({len(vocab)} words)"
    return [
        {
            "benchmark": f"{label}: analogy accuracy ({len(questions)} questions)",
            "ours": f"{acc_ppmi:.3f}",
            "reference": f"{acc_w2v:.3f}",
            "ratio": f"{acc_ppmi / max(acc_w2v, 1e-9):.2f}",
            "goal": "comparable (small corpus: both low)",
            "note": "3CosAdd, a, b, c excluded",
        },
        {
            "benchmark": f"{label}: overlap of the 10 nearest neighbours (200 words)",
            "ours": f"{overlap:.2f}",
            "reference": "1 = identical",
            "ratio": "",
            "goal": "related (0.1-0.9)",
            "note": "",
        },
        {
            "benchmark": f"{label}: CPU time (build / train)",
            "ours": f"{t_ppmi:.2f} s",
            "reference": f"{t_w2v:.2f} s",
            "ratio": f"{t_ppmi / t_w2v:.2f}",
            "goal": "< 1 (faster)",
            "note": "ours: vocabulary + counts + PPMI + SVD; word2vec: 10 epochs, 1 worker",
        },
    ]


def _ppmi_rows() -> list[dict]:
    from dlcourse.embed import build_vocab, cooccurrence, ppmi, pydoc_corpus

    corpus = pydoc_corpus()
    vocab = build_vocab(corpus, min_count=2)
    C = cooccurrence(corpus, vocab, window=4)
    dense = C.toarray()
    t_sparse, M_sparse = min(
        (_cpu(lambda: ppmi(C, alpha=0.75)) for _ in range(3)), key=lambda r: r[0]
    )
    t_dense, M_dense = min(
        (_cpu(lambda: ppmi(dense, alpha=0.75)) for _ in range(3)), key=lambda r: r[0]
    )
    err = float(np.abs(M_sparse.toarray() - M_dense).max())
    mem_sparse = M_sparse.data.nbytes + M_sparse.indices.nbytes + M_sparse.indptr.nbytes
    return [
        {
            "benchmark": f"ppmi: sparse vs dense ({len(vocab)}^2 counts, {C.nnz} non-zeros)",
            "ours": f"{t_sparse:.3f} s, {mem_sparse / 2**20:.1f} MiB",
            "reference": f"{t_dense:.3f} s, {M_dense.nbytes / 2**20:.1f} MiB",
            "ratio": f"{t_sparse / max(t_dense, 1e-9):.2f}",
            "goal": "< 1 (faster, smaller)",
            "note": f"max difference {err:.1e}; best of 3",
        }
    ]


def run() -> list[dict]:
    return _knn_rows() + _word_rows() + _ppmi_rows()


if __name__ == "__main__":
    from tests.benchmarks import print_table

    print_table(run())
