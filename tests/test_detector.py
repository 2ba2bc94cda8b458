"""AnomalyDetector: PyOD's contract, thresholds, robustness, explanations."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import aekit
from aekit.plotting import feature_errors, score_histogram

N_NORMAL, N_OUT, D = 400, 20, 8


def planted(seed: int = 0):
    """Rank-2 inliers in 8-D plus 5% outliers off their plane; y = 1 for outliers."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(2, D))
    inliers = rng.normal(size=(N_NORMAL, 2)) @ basis + 0.1 * rng.normal(
        size=(N_NORMAL, D)
    )
    outliers = rng.normal(size=(N_OUT, 2)) @ basis + 2.0 * rng.normal(size=(N_OUT, D))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(N_NORMAL), np.ones(N_OUT)].astype(int)
    order = rng.permutation(len(X))
    return X[order], y[order]


def quick_model(**kw):
    """A small plain autoencoder (no PCA path, standardised, squared error)."""
    plain = dict(pca_path=False, scaling="standard", loss="mse", patience=10)
    return aekit.Autoencoder(
        (16,),
        2,
        max_epochs=60,
        batch_size=64,
        random_state=0,
        device="cpu",
        **plain,
        **kw,
    )


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def detector(data):
    X, _ = data
    return aekit.AnomalyDetector(quick_model(), contamination=0.05).fit(X)


def test_pyod_contract(detector, data):
    X, _ = data
    scores = detector.decision_function(X)
    np.testing.assert_allclose(scores, detector.decision_scores_, rtol=1e-6)
    labels = detector.predict(X)
    assert set(np.unique(labels)) == {0, 1}
    np.testing.assert_array_equal(labels, detector.labels_)
    np.testing.assert_array_equal(labels, scores > detector.threshold_)
    assert abs(labels.mean() - 0.05) <= 1 / len(X)


def test_ranks_planted_outliers_first(detector, data):
    X, y = data
    assert roc_auc_score(y, detector.decision_function(X)) > 0.95


def test_default_model_separates_outliers(data):
    X, y = data
    det = aekit.AnomalyDetector(random_state=0).fit(X)
    assert det.model_.latent_dim == 32  # wide code, regularised by dropout
    assert roc_auc_score(y, det.decision_scores_) > 0.9


def test_auto_threshold_recovers_known_rate(data):
    X, y = data
    det = aekit.AnomalyDetector(
        quick_model(), contamination="auto", latent_distance=False
    ).fit(X)
    flagged = det.labels_.astype(bool)
    assert 0.03 <= flagged.mean() <= 0.09  # the true rate is 20 / 420 = 4.8%
    assert flagged[y == 1].mean() >= 0.9


@pytest.mark.parametrize("code_distance", ["knn", "mahalanobis"])
def test_latent_distance_finds_far_rows_on_the_plane(code_distance):
    # Anomalies on the inliers' plane but 4x farther out along it: a linear
    # autoencoder reconstructs them as well as the inliers, so only the distance
    # of their codes gives them away.
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(2, D))
    inliers = rng.normal(size=(N_NORMAL, 2)) @ basis
    far = (rng.normal(size=(N_OUT, 2)) * 4) @ basis
    X = np.vstack([inliers, far]) + 0.1 * rng.normal(size=(N_NORMAL + N_OUT, D))
    y = np.r_[np.zeros(N_NORMAL), np.ones(N_OUT)]
    model = quick_model(activation="identity")
    recon = aekit.AnomalyDetector(model, latent_distance=False).fit(X)
    hybrid = aekit.AnomalyDetector(model, code_distance=code_distance).fit(X)
    auc_recon = roc_auc_score(y, recon.decision_scores_)
    auc_hybrid = roc_auc_score(y, hybrid.decision_scores_)
    assert auc_hybrid > 0.85 and auc_hybrid > auc_recon + 0.08
    # the score is the larger of two robust z-scores: a typical row is near 0
    assert abs(np.median(hybrid.decision_scores_)) < 1.0
    if code_distance == "knn":
        assert hybrid.reference_codes_.shape[1] == 2 and hybrid.min_distance_ > 0
    else:
        assert hybrid.code_precision_.shape == (2, 2)


def test_latent_distance_keeps_the_contract(data, tmp_path):
    X, y = data
    det = aekit.AnomalyDetector(quick_model()).fit(X)
    assert roc_auc_score(y, det.decision_function(X)) > 0.95  # off-plane rows too
    np.testing.assert_allclose(det.decision_function(X), det.decision_scores_)
    # one row at a time scores as in a batch (float64 codes)
    np.testing.assert_allclose(
        np.concatenate([det.decision_function(X[i : i + 1]) for i in range(20)]),
        det.decision_scores_[:20],
        rtol=1e-9,
        atol=1e-9,
    )
    auto = clone(det).set_params(contamination="auto").fit(X)
    flagged = auto.labels_.astype(bool)  # the true rate is 20 / 420 = 4.8%
    assert 0.03 <= flagged.mean() <= 0.09 and y[flagged].mean() >= 0.9
    assert flagged[y == 1].mean() >= 0.9
    recon = clone(det).set_params(latent_distance=False).fit(X)
    # the scaled reconstruction error, in float64 (reconstruction_error: float32)
    errors, _ = recon.model_.errors_and_codes(X)
    np.testing.assert_array_equal(recon.decision_scores_, errors)
    np.testing.assert_allclose(
        recon.decision_scores_,
        recon.model_.reconstruction_error(X, scaled=True),
        rtol=1e-5,
    )
    det.save(tmp_path / "det")
    np.testing.assert_array_equal(
        aekit.load(tmp_path / "det").decision_function(X), det.decision_function(X)
    )


def fits_seen(monkeypatch):
    """Record (estimator, X) of every `Autoencoder.fit` call."""
    fits = []
    original = aekit.Autoencoder.fit

    def spy(self, X, y=None):
        fits.append((self, np.array(X)))
        return original(self, X, y)

    monkeypatch.setattr(aekit.Autoencoder, "fit", spy)
    return fits


def test_trimming_refits_on_lowest_errors(data, monkeypatch):
    X, _ = data
    far = 25.0 * np.random.default_rng(3).normal(size=(5, D))  # far off the plane
    X = np.vstack([X[:200], far, X[200:]])
    fits = fits_seen(monkeypatch)
    det = aekit.AnomalyDetector(quick_model(), trim=0.1).fit(X)
    n_trim = int(0.1 * len(X))
    assert det.n_trimmed_ == n_trim and len(fits) == 2
    (ranking, _), (final, refit_rows) = fits
    assert det.model_ is final
    # the refit sees the training rows in their order, less n_trim of them ...
    kept = [i for i, row in enumerate(X) if (refit_rows == row).all(axis=1).any()]
    assert len(kept) == len(refit_rows) == len(X) - n_trim
    np.testing.assert_array_equal(refit_rows, X[kept])
    # ... those the ranking fit reconstructed worst, the planted far rows among them
    errors = ranking.reconstruction_error(X, scaled=True)
    left_out = np.setdiff1d(np.arange(len(X)), kept)
    assert errors[left_out].min() >= errors[kept].max()
    assert set(range(200, 205)) <= set(left_out)
    fits.clear()
    untrimmed = aekit.AnomalyDetector(quick_model(), trim=0.0).fit(X)
    assert untrimmed.n_trimmed_ == 0
    assert len(fits) == 1 and np.array_equal(fits[0][1], X)


def test_ranking_fit_is_short_and_final_fit_is_full(data, monkeypatch):
    X, _ = data
    fits = fits_seen(monkeypatch)

    def seen():
        return [(len(rows), model.max_epochs) for model, rows in fits]

    det = aekit.AnomalyDetector(quick_model(), trim=0.3).fit(X)
    n_kept = len(X) - int(0.3 * len(X))
    assert seen() == [(len(X), 15), (n_kept, 60)]  # a quarter of 60 epochs, then 60
    assert det.model_.max_epochs == 60
    fits.clear()
    aekit.AnomalyDetector(quick_model(), trim=0.0).fit(X)
    assert seen() == [(len(X), 60)]  # no trimming: one full fit


def test_predict_proba(detector, data):
    X, _ = data
    scores = detector.decision_function(X)
    for method in ("linear", "unify"):
        proba = detector.predict_proba(X, method=method)
        assert proba.shape == (len(X), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert proba.min() >= 0.0 and proba.max() <= 1.0
        order = np.argsort(scores)
        assert np.all(np.diff(proba[order, 1]) >= -1e-12)
    with pytest.raises(ValueError, match="method"):
        detector.predict_proba(X, method="rank")


def test_explain_points_at_the_perturbed_feature(detector, data):
    X, _ = data
    row = X[:1].copy()
    row[0, 5] += 10 * X[:, 5].std()
    contributions = detector.explain(row)
    assert contributions.shape == (1, D)
    assert contributions[0].argmax() == 5
    np.testing.assert_allclose(
        contributions.mean(axis=1),
        detector.model_.reconstruction_error(row, scaled=True),
        rtol=1e-4,
    )


def test_plots(detector, data):
    X, y = data
    fig = score_histogram(
        detector.decision_scores_, threshold=detector.threshold_, labels=y, bins=30
    )
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == 2 * 30  # normal and anomalous rows over the same bins
    assert sum(heights[:30]) == N_NORMAL and sum(heights[30:]) == N_OUT
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), [detector.threshold_] * 2)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["normal", "anomaly", "threshold"]
    errors = detector.explain(X[:1])[0]
    (ax,) = feature_errors(errors).axes
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, np.sort(errors))  # one bar each, largest on top


def test_save_load_keeps_scores_and_threshold(detector, data, tmp_path):
    X, _ = data
    detector.save(tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    np.testing.assert_array_equal(
        loaded.decision_function(X), detector.decision_function(X)
    )
    assert loaded.threshold_ == detector.threshold_
    np.testing.assert_array_equal(loaded.labels_, detector.labels_)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(contamination=0.7), ValueError, r"contamination must be in \(0"),
        (dict(contamination="often"), ValueError, "or 'auto'"),
        (dict(trim=0.5), ValueError, "trim"),
        (dict(model=object()), TypeError, "reconstruction_error"),
        (dict(latent_distance="yes"), TypeError, "latent_distance must be True"),
    ],
)
def test_bad_parameters(data, params, error, match):
    X, _ = data
    with pytest.raises(error, match=match):
        aekit.AnomalyDetector(**params).fit(X)


def test_knn_code_distance_sees_between_clusters(tmp_path):
    # Normal rows in two clusters, anomalies half-way between them: one
    # Mahalanobis distance from the codes' mean calls them typical, the distance
    # to the nearest codes does not.
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, D))
    centres = np.array([[-4.0, 0.0], [4.0, 0.0]])  # on the plane of the rows
    plane = centres[rng.integers(0, 2, N_NORMAL)] + rng.normal(size=(N_NORMAL, 2))
    between = rng.normal(size=(N_OUT, 2))  # on the plane, between the clusters
    X = np.vstack([plane, between]) @ basis
    X += 0.1 * rng.normal(size=X.shape)
    y = np.r_[np.zeros(N_NORMAL), np.ones(N_OUT)]
    model = quick_model(activation="identity")
    # (the code distances alone: per-feature tails call the middle typical too)
    kw = dict(feature_tails=False, random_state=0)
    knn = aekit.AnomalyDetector(model, code_distance="knn", **kw).fit(X)
    maha = aekit.AnomalyDetector(model, code_distance="mahalanobis", **kw).fit(X)
    assert roc_auc_score(y, knn.decision_scores_) > 0.9
    assert roc_auc_score(y, maha.decision_scores_) < 0.7
    assert knn.reference_codes_.shape[1] == 2 and not hasattr(knn, "code_precision_")
    np.testing.assert_allclose(knn.decision_function(X), knn.decision_scores_)
    knn.save(tmp_path / "knn")
    loaded = aekit.load(tmp_path / "knn")
    assert loaded.code_distance == "knn"
    with torch.inference_mode():  # the graph ONNX export takes: same scores
        *_, graph_scores = knn.inference_graph()(torch.from_numpy(X))
    np.testing.assert_allclose(graph_scores.numpy(), knn.decision_scores_, atol=1e-9)
    np.testing.assert_array_equal(loaded.decision_function(X), knn.decision_function(X))


def test_shrunk_precision_does_not_inflate_new_rows():
    # 60 reference codes in 32 dimensions: the sample covariance fits its own
    # rows, so new rows from the same distribution look ~2x farther; the
    # Ledoit-Wolf covariance keeps them comparable
    from aekit.estimators._detector import shrunk_precision

    rng = np.random.default_rng(0)
    own, new = rng.normal(size=(60, 32)), rng.normal(size=(60, 32))

    def ratio(precision):
        center = own.mean(axis=0)
        d = [(((x - center) @ precision) * (x - center)).sum(1) for x in (new, own)]
        return d[0].mean() / d[1].mean()

    sample = np.linalg.pinv(np.cov(own, rowvar=False), hermitian=True)
    assert ratio(sample) > 2.0
    assert ratio(shrunk_precision(own)) < 1.5
    assert not shrunk_precision(own[:1]).any()  # one row: no distance at all


def test_auto_flags_few_rows_of_a_small_table():
    # iris (150 rows, 4 columns, 3 clusters, no anomalies): the default's 32-d
    # codes from ~100 reference rows; with the sample covariance 8% of the rows
    # were flagged, with the shrunk one 3%
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_iris().data)
    det = aekit.AnomalyDetector(contamination="auto", random_state=0).fit(X)
    assert det.labels_.mean() <= 0.06


def test_neighbour_distances_leave_out_only_the_row_itself(monkeypatch):
    from aekit.nn.graph import neighbour_distances

    reference = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    own = reference[:1]  # a reference row: its own distance 0 is left out
    new = torch.tensor([[0.0, 0.5]])  # a new row: its two nearest count
    assert neighbour_distances(own, reference, 2, 1e-3).item() == pytest.approx(1.5)
    assert neighbour_distances(new, reference, 2, 1e-3).item() == pytest.approx(
        (0.5 + np.hypot(1.0, 0.5)) / 2
    )
    # fewer reference rows than k: all of them but the row's own
    assert neighbour_distances(own, reference, 10, 1e-3).item() == pytest.approx(2.0)
    # the expanded square that torch.export (ONNX) traces: the same to rounding
    rows = torch.randn(50, 2, dtype=torch.float64)
    queries = torch.cat([rows[:20], torch.randn(30, 2, dtype=torch.float64)])
    eager = neighbour_distances(queries, rows, 5, 1e-3)
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
    traced = neighbour_distances(queries, rows, 5, 1e-3)
    torch.testing.assert_close(traced, eager, rtol=0, atol=1e-12)


@pytest.mark.parametrize("code_distance", ["knn", "mahalanobis"])
def test_duplicated_rows_score_alike(code_distance):
    # 47 identical rows: their codes are one point, whose spread (a std, a
    # covariance) is rounding error; scaled by it, last-bit differences between
    # the copies looked tens of standard deviations apart (k-NN: two copies were
    # flagged; Mahalanobis: two scored above the rest)
    X = np.ones((50, 4))
    X[:3] += 5.0
    det = aekit.AnomalyDetector(
        code_distance=code_distance, contamination="auto", random_state=0
    ).fit(X)
    np.testing.assert_array_equal(np.flatnonzero(det.labels_), [0, 1, 2])
    assert np.ptp(det.decision_scores_[3:]) < 1e-6
