"""AnomalyDetector's feature-tails part (ECOD's per-feature tail probabilities):
the head's arithmetic by hand, ECOD's ranking, the "auto" width rule, save/load
and the graph that ONNX export takes."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import aekit
from aekit.estimators._detector import MAX_TAIL_FEATURES, feature_tails
from aekit.nn.graph import FeatureTails
from tests.test_detector import quick_model


def test_tail_probabilities_by_hand():
    # reference values 1, 2, 2, 4 (m = 4) for feature 0, skewed right (sign 1);
    # feature 1 has no skew (sign 0): its part is U_l + U_r.
    reference = torch.tensor([[1.0, 0.0], [2.0, 1.0], [2.0, 2.0], [4.0, 3.0]])
    head = FeatureTails(reference, torch.tensor([1.0, 0.0], dtype=torch.float64))
    x = torch.tensor([[2.0, 1.5], [5.0, -1.0]], dtype=torch.float64)
    below, above = head.counts(x)
    np.testing.assert_array_equal(below.numpy(), [[3, 2], [4, 0]])
    np.testing.assert_array_equal(above.numpy(), [[3, 2], [0, 4]])
    # row 0: feature 0 tails (3+1)/5 both -> -log 0.8; feature 1: 3/5 each side
    row0 = -np.log(0.8) + 2 * -np.log(0.6)
    # row 1: feature 0 left 5/5, right 1/5 -> max = log 5; feature 1: 1/5 and 5/5
    row1 = np.log(5.0) + (np.log(5.0) + 0.0)
    np.testing.assert_allclose(head(x).numpy(), [row0, row1], rtol=1e-12)


def test_exported_counts_equal_the_binary_search(monkeypatch):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(50, 3)), 1)  # ties on purpose
    head = feature_tails(X)
    rows = torch.from_numpy(np.round(rng.normal(size=(20, 3)), 1))
    eager = head.counts(rows)
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
    exported = head.counts(rows)
    for a, b in zip(eager, exported, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_reference_keeps_the_extremes_of_many_rows():
    X = np.arange(10_000, dtype=np.float64).reshape(-1, 1)[::-1]
    head = feature_tails(X, max_reference=100)
    values = head.reference.numpy()[:, 0]
    assert len(values) == 100 and values[0] == 0.0 and values[-1] == 9999.0
    assert np.all(np.diff(values) > 0)


def single_feature_extremes(seed=0):
    """300 Gaussian rows in 5-D; 15 rows with one feature pushed 6-8 sd out."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(315, 5))
    X[300:, :] = rng.normal(size=(15, 5))
    X[300 + np.arange(15), rng.integers(0, 5, 15)] += rng.choice([-1, 1], 15) * (
        6 + 2 * rng.random(15)
    )
    return X, np.r_[np.zeros(300), np.ones(15)]


def test_tail_part_ranks_as_pyod_ecod():
    ecod = pytest.importorskip("pyod.models.ecod")
    X, _ = single_feature_extremes()
    with torch.inference_mode():
        ours = feature_tails(X)(torch.from_numpy(X)).numpy()
    theirs = ecod.ECOD().fit(X).decision_scores_
    # (ECOD counts a training row once, FeatureTails once more, as a new row)
    assert spearmanr(ours, theirs).statistic > 0.99
    top_ours, top_theirs = np.argsort(-ours)[:15], np.argsort(-theirs)[:15]
    assert len(np.intersect1d(top_ours, top_theirs)) >= 11


def test_detector_finds_single_feature_extremes_as_ecod_does():
    ecod = pytest.importorskip("pyod.models.ecod")
    X, y = single_feature_extremes()
    det = aekit.AnomalyDetector(quick_model(), random_state=0).fit(X)
    assert det.feature_tails_ and det.score_center_.shape == (3,)
    baseline = roc_auc_score(y, ecod.ECOD().fit(X).decision_scores_)
    assert baseline > 0.95
    assert roc_auc_score(y, det.decision_scores_) >= baseline - 0.01
    np.testing.assert_allclose(det.decision_function(X), det.decision_scores_)


@pytest.mark.parametrize("n_features", [MAX_TAIL_FEATURES, MAX_TAIL_FEATURES + 1])
def test_auto_uses_tails_on_narrow_tables_only(n_features):
    X = np.random.default_rng(0).normal(size=(80, n_features))
    model = quick_model().set_params(max_epochs=2)
    det = aekit.AnomalyDetector(model, random_state=0).fit(X)
    narrow = n_features <= MAX_TAIL_FEATURES
    assert det.feature_tails_ is narrow
    assert det.score_center_.shape == ((3,) if narrow else (2,))
    assert hasattr(det, "tail_reference_") is narrow
    off = aekit.AnomalyDetector(model, feature_tails=False, random_state=0).fit(X)
    assert not off.feature_tails_ and off.score_center_.shape == (2,)
    on = aekit.AnomalyDetector(model, feature_tails=True, random_state=0).fit(X)
    assert on.feature_tails_ and on.tail_reference_.shape == (80, n_features)


def test_save_load_and_graph_keep_the_tails(tmp_path):
    X, _ = single_feature_extremes(1)
    det = aekit.AnomalyDetector(quick_model(), random_state=0).fit(X)
    det.save(tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    assert loaded.feature_tails_
    rows = single_feature_extremes(2)[0]
    np.testing.assert_array_equal(
        loaded.decision_function(rows), det.decision_function(rows)
    )
    with torch.inference_mode():
        *_, graph_scores = det.inference_graph()(torch.from_numpy(rows))
    np.testing.assert_allclose(
        graph_scores.numpy(), det.decision_function(rows), atol=1e-9
    )


def test_bad_feature_tails():
    X, _ = single_feature_extremes()
    with pytest.raises(TypeError, match="feature_tails must be 'auto' or True"):
        aekit.AnomalyDetector(feature_tails="yes").fit(X)
