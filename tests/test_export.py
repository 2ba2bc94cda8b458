"""ONNX export (`aekit.export`): onnxruntime gives what the estimators give, at
any batch size, with the scaling folded in, the metadata written and clear
errors. Each case is exported once (the exporter takes seconds)."""

import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

import aekit
from aekit.cli import main
from aekit.export import read_metadata, to_onnx
from tests.conftest import FAST, MODEL_CASES, small_images, small_tabular

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 7, 256)
TOL = 1e-5  # max absolute difference on scaled outputs
X = 3.0 + 2.0 * small_tabular(200, 6)  # neither centred nor unit scale
IMAGES = small_images(200).reshape(-1, 8, 8)  # (n, H, W): the shape is kept


def detector(**kw):
    return aekit.AnomalyDetector(aekit.Autoencoder((8,), 2, **FAST), **kw)


# name -> (estimator, training data, to_onnx dtype). Exporting takes seconds, so
# the variants beyond one of each estimator run with --slow (as CI does).
CASES = {
    "autoencoder": (
        aekit.Autoencoder((8,), 3, scaling="standard", batch_norm=True, **FAST),
        X,
        None,
    ),
    "conv": (
        aekit.ConvAutoencoder((4, 8), 3, scaling="standard", **FAST),
        IMAGES,
        None,
    ),
    "vae": (aekit.VAE((8,), 2, **FAST), X, None),
    "detector": (detector(), X, None),
    "detector-knn": (detector(code_distance="knn"), X, None),
    "autoencoder-minmax": (
        aekit.Autoencoder((8,), 3, scaling="minmax", **FAST),
        X,
        None,
    ),
    "autoencoder-unscaled-float64": (
        aekit.Autoencoder((8,), 3, scaling=None, activation="tanh", **FAST),
        X,
        "float64",
    ),
    "convvae": (aekit.ConvVAE((4, 8), 2, **FAST), IMAGES, None),
    "detector-reconstruction-only": (detector(latent_distance=False), X, None),
}
QUICK = ("autoencoder", "conv", "vae", "detector", "detector-knn")
PARAMS = [
    pytest.param(name, marks=() if name in QUICK else pytest.mark.slow)
    for name in CASES
]


@pytest.fixture(scope="module", params=PARAMS)
def exported(request, tmp_path_factory):
    """(fitted estimator, ONNX session, metadata, path, dtype asked for) of
    each case."""
    estimator, data, dtype = CASES[request.param]
    estimator.fit(data)
    path = estimator.to_onnx(
        tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx", dtype=dtype
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return estimator, session, read_metadata(path), path, dtype


def new_rows(estimator, n, seed=0):
    """``n`` rows like the training data (in its shape), slightly moved."""
    data = (
        X
        if not isinstance(estimator, aekit.ConvAutoencoder | aekit.ConvVAE)
        else IMAGES
    )
    rng = np.random.default_rng(seed)
    rows = data[rng.integers(0, len(data), n)]
    return rows + 0.1 * data.std() * rng.normal(size=rows.shape)


def torch_outputs(estimator, rows):
    """What the estimator itself gives: codes, reconstruction, score, the
    input scale (to compare reconstructions in scaled units)."""
    if isinstance(estimator, aekit.AnomalyDetector):
        model = estimator.model_
        score = estimator.decision_function(rows)
    else:
        model = estimator
        score = model.reconstruction_error(rows, scaled=True)
    return model.transform(rows), model.reconstruct(rows), score, model.input_scale_


@pytest.mark.parametrize("n", BATCHES)
def test_onnxruntime_matches_the_estimator(exported, n):
    estimator, session, meta, *_ = exported
    rows = new_rows(estimator, n, seed=n)
    codes, recon, score = session.run(None, {"x": rows.astype(meta["dtype"])})
    ref_codes, ref_recon, ref_score, scale = torch_outputs(estimator, rows)
    assert codes.shape == ref_codes.shape == (n, estimator_latent(estimator))
    assert recon.shape == ref_recon.shape == rows.shape
    assert score.shape == (n,)
    assert np.abs(codes - ref_codes).max() <= TOL
    assert np.abs((recon - ref_recon) / scale).max() <= TOL
    assert np.abs(score - ref_score).max() <= TOL


def estimator_latent(estimator):
    model = getattr(estimator, "model_", estimator)
    return model.latent_dim


def test_detector_labels_at_the_threshold_are_identical(exported):
    estimator, session, meta, *_ = exported
    if not isinstance(estimator, aekit.AnomalyDetector):
        pytest.skip("detectors only")
    threshold = json.loads(meta["threshold"])
    assert threshold == estimator.threshold_
    if estimator.latent_distance:  # (6 columns: the feature-tails part is in)
        assert estimator.feature_tails_
    (score,) = session.run(["score"], {"x": X.astype(meta["dtype"])})
    np.testing.assert_array_equal(score > threshold, estimator.labels_)
    near = np.argsort(np.abs(estimator.decision_scores_ - threshold))[:5]
    assert np.abs(score[near] - estimator.decision_scores_[near]).max() < 1e-12
    rows = new_rows(estimator, 256, seed=1)
    (score,) = session.run(["score"], {"x": rows.astype(meta["dtype"])})
    np.testing.assert_array_equal(score > threshold, estimator.predict(rows))


def test_dynamic_batch_and_names(exported):
    estimator, _, _, path, _ = exported
    model = onnx.load(str(path))
    (x,) = model.graph.input
    dims = x.type.tensor_type.shape.dim
    assert x.name == "x" and dims[0].dim_param and not dims[0].dim_value
    assert [d.dim_value for d in dims[1:]] == list(new_rows(estimator, 1).shape[1:])
    assert [out.name for out in model.graph.output] == [
        "codes",
        "reconstruction",
        "score",
    ]


def test_metadata(exported):
    estimator, _, meta, _, dtype = exported
    assert meta["aekit_version"] == aekit.__version__
    assert meta["estimator_class"] == type(estimator).__name__
    assert aekit.registry.get_estimator_class(meta["estimator"]) is type(estimator)
    names = json.loads(meta["feature_names"])
    assert names == [f"x{i}" for i in range(estimator.n_features_in_)]
    assert json.loads(meta["input_shape"])[1:] == list(new_rows(estimator, 1).shape[1:])
    default = "float64" if isinstance(estimator, aekit.AnomalyDetector) else "float32"
    assert meta["dtype"] == (dtype or default)
    if isinstance(estimator, aekit.AnomalyDetector):
        assert json.loads(meta["latent_distance"]) == estimator.latent_distance
        assert json.loads(meta["contamination"]) == estimator.contamination
    else:
        assert "threshold" not in meta


def test_cli_export_end_to_end(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X[:, :3], columns=["height", "width", "depth"])
    model_dir, out = tmp_path / "det", tmp_path / "out" / "det.onnx"
    detector(contamination=0.05).fit(frame).save(model_dir)
    assert main(["export", str(model_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "AnomalyDetector" in printed and "threshold" in printed
    meta = read_metadata(out)
    assert json.loads(meta["feature_names"]) == ["height", "width", "depth"]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    codes, recon, score = session.run(None, {"x": X[:, :3]})
    loaded = aekit.load(model_dir)
    np.testing.assert_allclose(
        score, loaded.decision_function(frame), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(score > loaded.threshold_, loaded.labels_)


def test_cli_errors(tmp_path, capsys):
    est, ratings = MODEL_CASES["autorec"][:2]
    est.fit(ratings).save(tmp_path / "recs")
    assert main(["export", str(tmp_path / "recs"), "-o", str(tmp_path / "r.onnx")]) == 1
    err = capsys.readouterr().err
    assert "AutoRec cannot be exported to ONNX" in err and err[-1] == "\n"
    assert main(["export", str(tmp_path / "none"), "-o", str(tmp_path / "n.onnx")]) == 1
    assert "no aekit model" in capsys.readouterr().err
    assert not (tmp_path / "r.onnx").exists()


def test_unfitted_and_non_exportable_estimators(tmp_path):
    with pytest.raises(NotFittedError):
        aekit.Autoencoder().to_onnx(tmp_path / "a.onnx")
    with pytest.raises(NotFittedError):
        aekit.AnomalyDetector().to_onnx(tmp_path / "a.onnx")
    for name in ("autorec", "multvae"):
        with pytest.raises(TypeError, match=type(MODEL_CASES[name][0]).__name__):
            to_onnx(MODEL_CASES[name][0], tmp_path / "r.onnx")
    with pytest.raises(TypeError, match="PCA"):
        to_onnx(PCA(2).fit(X), tmp_path / "p.onnx")
    assert not list(tmp_path.iterdir())


class PCAModel(PCA):
    """A non-aekit model a detector accepts (it has reconstruction_error)."""

    def reconstruction_error(self, X, scaled=False):
        return ((self.inverse_transform(self.transform(X)) - X) ** 2).mean(axis=1)


def test_detector_around_a_foreign_model_is_not_exportable(tmp_path):
    det = aekit.AnomalyDetector(PCAModel(2), latent_distance=False).fit(X)
    assert det.decision_function(X[:3]).shape == (3,)  # it still scores
    with pytest.raises(TypeError, match="PCAModel"):
        det.to_onnx(tmp_path / "d.onnx")


def test_bad_dtype_and_missing_extra(tmp_path, monkeypatch):
    ae = aekit.Autoencoder((4,), 2, **FAST).fit(X[:40])
    with pytest.raises(ValueError, match="dtype.*float16"):
        ae.to_onnx(tmp_path / "a.onnx", dtype="float16")
    monkeypatch.setitem(__import__("sys").modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r"onnxscript.*aekit\[onnx\]"):
        ae.to_onnx(tmp_path / "a.onnx")
    assert not (tmp_path / "a.onnx").exists()


def test_inference_graph_is_what_decision_function_computes():
    det = detector().fit(X)
    graph = det.inference_graph()
    with torch.inference_mode():
        _, _, score = graph(torch.from_numpy(X))
    assert score.dtype == torch.float64
    np.testing.assert_allclose(score.numpy(), det.decision_scores_, rtol=0, atol=1e-13)


@pytest.mark.slow
def test_a_graph_onnxruntime_cannot_run_is_reported(tmp_path):
    # onnxruntime's CPU provider has no float64 convolution
    conv = aekit.ConvAutoencoder((4,), 2, **FAST).fit(IMAGES[:40])
    with pytest.raises(ValueError, match="float64 graph.*dtype='float32'"):
        conv.to_onnx(tmp_path / "c.onnx", dtype="float64")
    assert not (tmp_path / "c.onnx").exists()
