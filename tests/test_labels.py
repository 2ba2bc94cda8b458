"""AnomalyDetector.fit(X, y) with partial labels: encoding, training rows,
the supervised blend, the threshold and rate from labels, save/load, ONNX."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import aekit
from aekit.estimators._labels import (
    LABEL_WEIGHT,
    LabelsMixin,
    blend_weight,
    blended_rate,
    check_labels,
    label_rate,
)

N, D = 500, 6


def quick_model():
    return aekit.Autoencoder(
        (16,), 3, max_epochs=30, batch_size=64, pca_path=False, scaling="standard",
        loss="mse", random_state=0, device="cpu",
    )  # fmt: skip


def hidden_cluster(seed=0):
    """Rows near a 3-D subspace with 30 anomalies shifted by 1.5 on three
    features (inside the body's range, hard to see unsupervised); y = 1 for
    them (the first rows)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(3, D))
    X = rng.normal(size=(N, 3)) @ basis + 0.3 * rng.normal(size=(N, D))
    X[:30, :3] += 1.5
    y = np.r_[np.ones(30), np.zeros(N - 30)].astype(int)
    return X, y


@pytest.fixture(scope="module")
def data():
    return hidden_cluster()


@pytest.fixture(scope="module")
def unsupervised(data):
    X, _ = data
    return aekit.AnomalyDetector(quick_model(), random_state=0).fit(X)


@pytest.fixture(scope="module")
def labelled(data):
    X, _ = data
    y = -np.ones(N)
    y[:10] = 1  # 10 of the 30 anomalies known
    y[100:150] = 0  # and 50 normal rows
    det = aekit.AnomalyDetector(quick_model(), contamination="auto", random_state=0)
    return det.fit(X, y)


@pytest.mark.parametrize("unknown", ["minus_one", "nan", "all_normal"])
def test_no_known_anomaly_is_the_unsupervised_fit(data, unsupervised, unknown):
    X, _ = data
    y = {"minus_one": -np.ones(N), "nan": np.full(N, np.nan), "all_normal": None}
    y = y[unknown] if unknown != "all_normal" else np.zeros(N, int)
    det = aekit.AnomalyDetector(quick_model(), random_state=0).fit(X, y)
    np.testing.assert_array_equal(det.decision_scores_, unsupervised.decision_scores_)
    assert det.threshold_ == unsupervised.threshold_
    assert not hasattr(det, "label_tree_roots_")


def test_labels_raise_the_scores_of_unlabelled_neighbours(data, unsupervised, labelled):
    X, y = data
    rest = np.arange(10, N)  # the 20 unlabelled anomalies and the normal rows
    auc_before = roc_auc_score(y[rest], unsupervised.decision_scores_[rest])
    auc_after = roc_auc_score(y[rest], labelled.decision_scores_[rest])
    # (0.765 and 0.855 when written: the unlabelled anomalies are the forest's
    # negatives in training, which holds their own training scores down)
    assert auc_before < 0.8 and auc_after > 0.83
    assert labelled.n_labelled_anomalies_ == 10
    assert labelled.n_labelled_normals_ == 50
    assert labelled.label_weight_[0] == pytest.approx(blend_weight(10))
    np.testing.assert_allclose(
        labelled.decision_function(X), labelled.decision_scores_, atol=1e-12
    )


def test_known_anomalies_never_train_the_model(data, monkeypatch):
    X, _ = data
    seen = []
    original = aekit.Autoencoder.fit

    def spy(self, X, y=None):
        seen.append(np.array(X))
        return original(self, X, y)

    monkeypatch.setattr(aekit.Autoencoder, "fit", spy)
    y = -np.ones(N)
    y[:10] = 1
    aekit.AnomalyDetector(quick_model(), trim=0.2, random_state=0).fit(X, y)
    assert len(seen[0]) == N - 10  # dropped before trimming
    assert len(seen[1]) == (N - 10) - int(0.2 * (N - 10))
    known = {tuple(row) for row in X[:10]}
    assert not any(tuple(row) in known for fit in seen for row in fit)


def test_threshold_and_rate_from_labels(data, labelled):
    X, y = data
    rate = labelled.contamination_estimate_
    low, high = labelled.contamination_interval_
    # the labels' rate is read on the unsupervised training scores (their ranks
    # give the same cut); here that score hides the cluster, so the estimate
    # leans high (0.138 for a true 6% when written), inside a wide interval
    known = np.r_[np.ones(10), -np.ones(90), np.zeros(50), -np.ones(N - 150)]
    unsupervised_rank, _ = labelled._score_components(X)
    estimate, interval = label_rate(unsupervised_rank, known.astype(int))
    assert labelled.label_rate_ == pytest.approx(estimate)
    assert labelled.contamination_interval_ == pytest.approx(interval)
    assert 0.5 * y.mean() <= rate <= 2.5 * y.mean()  # true rate 6%
    assert low <= labelled.label_rate_ <= high and low <= y.mean() <= high
    assert labelled.labels_.mean() == pytest.approx(rate, abs=2 / N)
    # a given contamination keeps its threshold (the estimate is still reported)
    fixed = aekit.AnomalyDetector(quick_model(), contamination=0.1, random_state=0)
    y_part = np.where(np.arange(N) < 10, 1, -1)
    fixed.fit(data[0], y_part)
    assert fixed.labels_.mean() == pytest.approx(0.1, abs=2 / N)
    assert 0 < fixed.contamination_estimate_ < 0.5


def test_label_rate_recovers_a_planted_rate():
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(size=950), rng.normal(4.0, 1.0, size=50)]
    truth = np.r_[np.zeros(950), np.ones(50)]
    labels = -np.ones(1000, int)
    labels[950:970] = 1  # 20 of the 50 anomalies known
    estimate, (low, high) = label_rate(scores, labels)
    assert 0.04 <= estimate <= 0.065 and low <= estimate <= high
    labels[:100] = 0  # with known normals: the best-separating cut
    estimate, (low, high) = label_rate(scores, labels)
    assert 0.035 <= estimate <= 0.065 and low <= truth.mean() <= high


def test_blended_rate_is_a_log_space_blend():
    w = LABEL_WEIGHT
    assert 0.5 < w < 1  # the labels weigh more than the label-free rule
    assert blended_rate(0.4, 0.1) == pytest.approx(0.4**w * 0.1 ** (1 - w))
    assert blended_rate(0.05, 0.05) == pytest.approx(0.05)
    # one factor-4 error on either side moves the blend by less than a factor 4
    assert 0.1 < blended_rate(0.4, 0.1) < 0.4 and 0.1 < blended_rate(0.1, 0.4) < 0.4
    assert 0 < blended_rate(0.0, 0.1) < 1e-3  # a zero rate is floored, not logged


def test_rate_with_labels_blends_the_label_free_share(data, monkeypatch):
    # both rates are read on the unsupervised training scores that fit hands
    # to the threshold: the labels' rate and the label-free rule's share
    seen = []
    method = LabelsMixin._label_threshold

    def spy(self, labels, scores):
        seen.append(scores.copy())
        return method(self, labels, scores)

    monkeypatch.setattr(LabelsMixin, "_label_threshold", spy)
    X, _ = data
    y = np.where(np.arange(N) < 10, 1, -1)
    det = aekit.AnomalyDetector(quick_model(), contamination="auto", random_state=0)
    det.fit(X, y)
    scores = seen[0]
    free = np.mean(scores > aekit.thresholds.auto_threshold(scores))
    assert det.label_rate_ == pytest.approx(label_rate(scores, y)[0])
    assert det.contamination_estimate_ == pytest.approx(
        blended_rate(det.label_rate_, free)
    )
    assert det.labels_.mean() == pytest.approx(det.contamination_estimate_, abs=2 / N)


def test_rate_with_labels_covers_the_known_anomalies(data, monkeypatch):
    # a label-free rule that flags nothing and known anomalies the score ranks
    # low would blend to a rate below the known share; it is floored there
    monkeypatch.setattr(aekit.thresholds, "auto_threshold", lambda s: np.inf)
    X, _ = data
    y = np.where(np.arange(N) < 30, 1, -1)  # all 30 anomalies known: 6%
    det = aekit.AnomalyDetector(quick_model(), contamination="auto", random_state=0)
    det.fit(X, y)
    assert det.contamination_estimate_ >= 30 / N
    assert det.labels_.mean() == pytest.approx(det.contamination_estimate_, abs=2 / N)


def test_save_load_keep_the_labelled_score(data, labelled, tmp_path):
    X, _ = data
    labelled.save(tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    np.testing.assert_array_equal(
        loaded.decision_function(X), labelled.decision_function(X)
    )
    assert loaded.threshold_ == labelled.threshold_
    assert loaded.contamination_interval_ == labelled.contamination_interval_
    saved = (tmp_path / "det" / "config.json").read_text()
    assert "label_tree_threshold_" in saved and "pickle" not in saved


def test_onnx_export_of_the_tree_part_raises(labelled, tmp_path):
    with pytest.raises(TypeError, match="tree ensemble"):
        labelled.inference_graph()
    with pytest.raises(TypeError, match="cannot be exported to ONNX"):
        labelled.to_onnx(tmp_path / "det.onnx")
    assert not (tmp_path / "det.onnx").exists()


def test_refit_without_labels_forgets_them(data, labelled, unsupervised):
    from sklearn.base import clone

    X, _ = data
    det = clone(labelled).set_params(contamination=0.1).fit(X, np.zeros(N))
    np.testing.assert_array_equal(det.decision_scores_, unsupervised.decision_scores_)
    assert not hasattr(det, "contamination_estimate_")


@pytest.mark.parametrize(
    "y, match",
    [
        (np.ones(N - 1), "one label per row of X \\(500\\), got shape \\(499,\\)"),
        (np.full(N, 2.0), "got \\[2.0\\]"),
        (np.array(["a"] * N), "must hold the numbers 1"),
        (np.ones(N), "at least 2 rows must be normal or unknown"),
        (np.ones((N, 2)), "one label per row"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y, N)


def test_labels_need_the_code_distance(data):
    X, _ = data
    y = np.where(np.arange(N) < 5, 1, -1)
    det = aekit.AnomalyDetector(quick_model(), latent_distance=False)
    with pytest.raises(ValueError, match="needs latent_distance=True"):
        det.fit(X, y)
    assert not hasattr(det, "model_")


def test_labels_on_every_row_warn_that_the_fit_is_supervised():
    """cross_val_score(detector, X, y) passes y to fit: a fit on full labels must
    not pass silently for an evaluation of the unsupervised detector."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (rng.random(120) < 0.1).astype(int)
    y[:2] = 1
    params = dict(random_state=0)
    with pytest.warns(UserWarning, match="labels every row"):
        aekit.AnomalyDetector(**params).fit(X, y)
