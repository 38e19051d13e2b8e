"""dlcourse.forests: entropy, information gain, trees and forests as sign networks, soft trees.

References: scipy.stats.entropy and scikit-learn's own ``tree_.impurity`` (entropy, gain),
a brute-force search over all splits (the root split scikit-learn chose maximises our gain),
scikit-learn's ``predict``/``predict_proba``/``apply`` (the networks, on random points and on
points exactly at the thresholds), the limit T -> 0 of a soft tree built from a fitted tree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import entropy as scipy_entropy
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    ExtraTreesClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from dlcourse._validation import InvalidParameterError
from dlcourse.forests import (
    SoftTree,
    complete_tree_paths,
    entropy,
    forest_to_network,
    information_gain,
    tree_to_network,
)

pytestmark = pytest.mark.timeout(120)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        600, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return np.round(4 * X) / 4, y  # on a grid: thresholds (midpoints) are exact in float32


def _tie_points(tree, X, rng):
    """Rows of X with one coordinate set exactly to a threshold of the tree (a true tie)."""
    t = tree.tree_
    inner = np.flatnonzero(t.children_left != -1)
    rows = X[rng.integers(0, len(X), 3 * len(inner))].copy()
    for i, node in enumerate(np.repeat(inner, 3)):
        rows[i, t.feature[node]] = t.threshold[node]
    assert np.all(rows.astype(np.float32) == rows)  # ties survive scikit-learn's float32
    return rows


# ----------------------------------------------------------------------------- impurity
def test_entropy_matches_scipy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=20)
    p[0] = [1, 0, 0, 0, 0]
    p[1] = [0.5, 0.5, 0, 0, 0]
    np.testing.assert_allclose(entropy(p), scipy_entropy(p.T, base=2), atol=1e-12)
    np.testing.assert_allclose(entropy(p, base=np.e), scipy_entropy(p.T), atol=1e-12)
    assert entropy([0.25] * 4) == pytest.approx(2.0)
    assert isinstance(entropy([1.0, 0.0]), float) and entropy([1.0, 0.0]) == 0.0


def test_entropy_is_scikit_learns_impurity(data):
    X, y = data
    tree = DecisionTreeClassifier(criterion="entropy", max_depth=4, random_state=0).fit(X, y)
    leaf_or_node = tree.decision_path(X).toarray().astype(bool)  # (n, n_nodes)
    for node in range(tree.tree_.node_count):
        labels = y[leaf_or_node[:, node]]
        p = np.bincount(labels, minlength=3) / len(labels)
        assert entropy(p) == pytest.approx(tree.tree_.impurity[node], abs=1e-12)


def test_information_gain_formula_and_root_split(data):
    X, y = data
    tree = DecisionTreeClassifier(criterion="entropy", max_depth=1, random_state=0).fit(X, y)
    t = tree.tree_
    f, thr = t.feature[0], t.threshold[0]
    mask = X[:, f].astype(np.float32) <= thr
    n = t.n_node_samples
    want = t.impurity[0] - n[1] / n[0] * t.impurity[1] - n[2] / n[0] * t.impurity[2]
    assert information_gain(y, mask) == pytest.approx(want, abs=1e-12)
    # brute force: no axis-aligned split gains more than the one scikit-learn chose
    best = 0.0
    for j in range(X.shape[1]):
        v = np.unique(X[:, j])
        for cut in (v[:-1] + v[1:]) / 2:
            best = max(best, information_gain(y, X[:, j] <= cut))
    assert information_gain(y, mask) == pytest.approx(best, abs=1e-9)


def test_information_gain_properties():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert information_gain(y, y == 0) == pytest.approx(np.log2(3) - 2 / 3)
    assert information_gain(y, np.ones(6, bool)) == 0.0  # nothing goes right
    assert information_gain(y, np.array([1, 0, 1, 0, 1, 0], bool)) == pytest.approx(0.0)
    labels = np.array(["a", "b", "b", "a"])  # any labels
    assert information_gain(labels, labels == "a") == pytest.approx(1.0)
    y_copy = y.copy()
    information_gain(y, y > 0)
    np.testing.assert_array_equal(y, y_copy)


def test_impurity_errors():
    with pytest.raises(InvalidParameterError, match="'p' argument of entropy.*sum to 1"):
        entropy([0.5, 0.6])
    with pytest.raises(ValueError, match="'p' argument.*sum to 1"):
        entropy([-0.5, 1.5])
    with pytest.raises(InvalidParameterError, match="'mask' argument.*boolean"):
        information_gain([0, 1], [1, 0])
    with pytest.raises(InvalidParameterError, match="'mask' argument.*shape of 'y'"):
        information_gain([0, 1, 1], [True, False])


# ----------------------------------------------------------------------------- tree network
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("max_depth", [1, 3, None])
def test_tree_network_equals_scikit_learn(data, device, max_depth):
    X, y = data
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=0).fit(X[:400], y[:400])
    net = tree_to_network(tree).to(device)
    rng = np.random.default_rng(1)
    X_test = np.vstack([X[400:], _tie_points(tree, X, rng), 3 * rng.normal(size=(200, 6))])
    np.testing.assert_array_equal(net.predict_proba(X_test), tree.predict_proba(X_test))
    np.testing.assert_array_equal(net.predict(X_test), tree.predict(X_test))
    np.testing.assert_array_equal(net.apply(X_test), tree.apply(X_test))
    xt = torch.tensor(X_test, device=device)
    out = net.predict_proba(xt)
    assert out.device.type == device and out.dtype == torch.float64
    np.testing.assert_array_equal(out.cpu().numpy(), tree.predict_proba(X_test))
    np.testing.assert_array_equal(net.predict(xt).cpu().numpy(), tree.predict(X_test))


def test_tree_network_structure(data):
    X, y = data
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    net = tree_to_network(tree)
    t = tree.tree_
    inner = np.flatnonzero(t.children_left != -1)
    assert net.W.shape == (len(inner), 6) and net.V.shape == (t.n_leaves, len(inner))
    np.testing.assert_array_equal(net.W.argmax(1).numpy(), t.feature[inner])
    np.testing.assert_array_equal(net.W.sum(1).numpy(), 1.0)
    np.testing.assert_array_equal(net.b.numpy(), -t.threshold[inner])
    np.testing.assert_array_equal(net.b_tilde.numpy(), net.V.abs().sum(1).numpy())
    np.testing.assert_array_equal(net.b_tilde.numpy(), t.compute_node_depths()[net.leaf_ids] - 1)
    # the leaf indicator is one-hot everywhere, and the lecture's sign(Vy - b~) is not
    phi = net.leaves(X)
    np.testing.assert_array_equal(phi.sum(1).numpy(), 1.0)
    lecture = torch.sign(net.hidden(X) @ net.V.T - net.b_tilde)
    assert lecture.max() == 0  # 0 on the leaf reached, -1 on the others: not one-hot


def test_tree_network_handles_strings_float32_and_regression():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    clf = DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(tree_to_network(clf).predict(X), clf.predict(X))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(tree_to_network(clf).predict(X32), clf.predict(X32))
    reg = DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, X[:, 0] * X[:, 2])
    net = tree_to_network(reg)
    np.testing.assert_array_equal(net.predict(X), reg.predict(X))
    stump = DecisionTreeClassifier().fit(X, np.zeros(300, int))  # a single leaf, no split
    np.testing.assert_array_equal(tree_to_network(stump).predict_proba(X), stump.predict_proba(X))


def test_tree_network_errors_and_no_mutation(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="not been fitted"):
        tree_to_network(DecisionTreeClassifier())
    with pytest.raises(InvalidParameterError, match="'tree' argument.*DecisionTreeClassifier"):
        tree_to_network(RandomForestClassifier())
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    net = tree_to_network(tree)
    with pytest.raises(InvalidParameterError, match="5 features.*fitted on 6"):
        net.predict(X[:, :5])
    with pytest.raises(InvalidParameterError, match="'x' argument.*finite"):
        net.predict(np.full((2, 6), np.nan))
    with pytest.raises(InvalidParameterError, match="regression"):
        tree_to_network(DecisionTreeRegressor(max_depth=2).fit(X, y)).predict_proba(X)
    multi = DecisionTreeClassifier(max_depth=2).fit(X, np.stack([y, y], 1))
    with pytest.raises(InvalidParameterError, match="one output"):
        tree_to_network(multi)
    Xc = X.copy()
    xt = torch.tensor(X)
    net.predict(Xc)
    net.predict(xt)
    np.testing.assert_array_equal(Xc, X)
    assert torch.equal(xt, torch.tensor(X))


# ----------------------------------------------------------------------------- forests
@pytest.mark.parametrize("device", DEVICES)
def test_forest_network_equals_scikit_learn(data, device):
    X, y = data
    rng = np.random.default_rng(3)
    X_test = None
    for forest in (  # (extra trees draw thresholds at random: ties of the random forest's)
        RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0),
        ExtraTreesClassifier(n_estimators=7, max_depth=5, random_state=0),
    ):
        forest.fit(X[:400], y[:400])
        if X_test is None:
            ties = np.vstack([_tie_points(e, X, rng) for e in forest.estimators_[:3]])
            X_test = np.vstack([X[400:], ties])
        net = forest_to_network(forest).to(device)
        np.testing.assert_array_equal(net.predict_proba(X_test), forest.predict_proba(X_test))
        np.testing.assert_array_equal(net.predict(X_test), forest.predict(X_test))
        out = net.predict_proba(torch.tensor(X_test, device=device))
        np.testing.assert_array_equal(out.cpu().numpy(), forest.predict_proba(X_test))
    reg = RandomForestRegressor(n_estimators=6, max_depth=5, random_state=0).fit(X, X[:, 0])
    np.testing.assert_array_equal(forest_to_network(reg).predict(X), reg.predict(X))


def test_forest_soft_vote_is_not_hard_vote(data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=9, max_depth=3, random_state=0).fit(X, y)
    votes = np.stack([e.predict(X) for e in forest.estimators_]).astype(int)
    hard = np.array([np.bincount(v, minlength=3).argmax() for v in votes.T])
    soft = forest_to_network(forest).predict(X)
    assert np.array_equal(soft, forest.predict(X))
    assert not np.array_equal(hard, soft)  # the rules differ on some points


def test_forest_errors():
    with pytest.raises(InvalidParameterError, match="not been fitted"):
        forest_to_network(RandomForestClassifier())
    with pytest.raises(InvalidParameterError, match="'forest' argument.*RandomForest"):
        forest_to_network(DecisionTreeClassifier())


# ----------------------------------------------------------------------------- soft trees
def test_complete_tree_paths():
    V = complete_tree_paths(3)
    assert V.shape == (8, 7)
    np.testing.assert_array_equal(np.abs(V).sum(1), 3)
    # leaf l's path read as bits (right = 1) is l itself
    bits = (V[:, [0]] > 0).astype(int)
    assert bits[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_soft_tree_probabilities_and_gradients():
    tree = SoftTree(depth=3, in_dim=4, n_classes=3, temperature=0.7, seed=0)
    tree = tree.double()
    x = torch.randn(10, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    mu = tree.leaf_probs(x)
    torch.testing.assert_close(mu.sum(1), torch.ones(10, dtype=torch.float64))
    # brute force: product of sigmoids along each path
    u = (x @ tree.W.T + tree.b) / 0.7
    brute = torch.stack(
        [
            torch.prod(torch.stack([torch.sigmoid(v * u[:, s]) for s, v in enumerate(row) if v]), 0)
            for row in tree.V
        ],
        1,
    )
    torch.testing.assert_close(mu, brute)
    with torch.no_grad():
        tree.leaf_logits.normal_(generator=torch.Generator().manual_seed(1))
    assert torch.autograd.gradcheck(
        lambda w: _nll(tree, x, w), (tree.W.detach().clone().requires_grad_(),)
    )


def _nll(tree, x, W):
    u = (x @ W.T + tree.b) / tree.temperature
    right, left = (tree.V > 0).double(), (tree.V < 0).double()
    log_mu = (
        torch.nn.functional.logsigmoid(u) @ right.T + torch.nn.functional.logsigmoid(-u) @ left.T
    )
    log_q = torch.log_softmax(tree.leaf_logits, 1)
    logp = torch.logsumexp(log_mu[:, :, None] + log_q[None], 1)
    # the module's forward must give the same value with W replaced
    with torch.no_grad():
        saved = tree.W.detach().clone()
        tree.W.copy_(W.detach())
        torch.testing.assert_close(tree(x), logp)
        tree.W.copy_(saved)
    return logp.sum()


@pytest.mark.parametrize("device", DEVICES)
def test_soft_tree_from_tree_tends_to_the_hard_tree(data, device):
    X, y = data
    hard = DecisionTreeClassifier(max_depth=4, min_samples_leaf=20, random_state=0).fit(X, y)
    soft = SoftTree.from_tree(hard, temperature=1.0).to(device)
    x = torch.tensor(X, device=device)
    gaps = []
    for T in (1.0, 1e-1, 1e-2, 1e-3, 1e-9):
        soft.temperature = T
        gaps.append(np.abs(soft.predict_proba(x).cpu().numpy() - hard.predict_proba(X)).mean())
    assert all(a > b or b < 1e-10 for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    soft.temperature = 1e-9  # the points lie 1/8 (the grid's half step) from the thresholds
    worst = np.abs(soft.predict_proba(x).cpu().numpy() - hard.predict_proba(X)).max()
    assert worst < 1e-6, worst
    # a tree shallower in some branches than its depth is handled by repeated leaves
    assert hard.get_n_leaves() < 2 ** hard.get_depth()


def test_soft_tree_trains_and_respects_rng():
    from dlcourse.trainer import train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)  # a diagonal boundary: one oblique split
    state = torch.random.get_rng_state()
    tree = SoftTree(depth=2, in_dim=2, n_classes=2, temperature=1.0)
    assert torch.equal(state, torch.random.get_rng_state())
    a = SoftTree(depth=2, in_dim=2, n_classes=2, seed=3)
    b = SoftTree(depth=2, in_dim=2, n_classes=2, seed=3)
    assert torch.equal(a.W, b.W)
    train(tree, (X, y), epochs=30, lr=0.05, batch_size=64, progress=False)
    acc = (tree.predict(torch.tensor(X)).numpy() == y).mean()
    assert acc > 0.97, acc


def test_soft_tree_errors():
    with pytest.raises(InvalidParameterError, match="'temperature' argument of SoftTree.*> 0"):
        SoftTree(2, 3, 2, temperature=0.0)
    with pytest.raises(InvalidParameterError, match="'depth' argument.*>= 1"):
        SoftTree(0, 3, 2)
    tree = SoftTree(2, 3, 2)
    with pytest.raises(InvalidParameterError, match="4 features.*in_dim=3"):
        tree(torch.zeros(5, 4))
    with pytest.raises(InvalidParameterError, match="temperature"):
        tree.temperature = -1
    with pytest.raises(InvalidParameterError, match="DecisionTreeClassifier"):
        SoftTree.from_tree(DecisionTreeRegressor().fit(np.zeros((4, 1)), np.arange(4.0)))
