"""SeriesDetector's window models (conv, LSTM) and round-3 parts: the ONNX export of
the window scoring, cross-fitted calibration, the trend rule of the value
score and the window cap for many channels. Tiny series, seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit.data import series as ts
from aekit.nn.series import (
    ConvWindowAutoencoder,
    ConvWindowConfig,
    LSTMWindowAutoencoder,
    LSTMWindowConfig,
)

FAST = dict(max_epochs=3, random_state=0, device="cpu")


def two_channels(n=900, seed=0, period=40):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.column_stack(
        [np.sin(2 * np.pi * t / period), np.cos(2 * np.pi * t / period)]
    )
    return x + 0.05 * rng.normal(size=(n, 2))


@pytest.mark.parametrize("window", [1, 7, 8, 13])
def test_conv_module_gives_each_window_length_back(window):
    config = ConvWindowConfig(window=window, n_channels=3, latent_dim=2)
    module = ConvWindowAutoencoder(config)
    x = torch.randn(5, window * 3)
    out = module(x)
    assert out["recon"].shape == x.shape and out["z"].shape == (5, 2)
    assert module.loss(x, out)["loss"].ndim == 0


WINDOW_MODULES = {
    "conv": lambda: ConvWindowAutoencoder(
        ConvWindowConfig(window=4, n_channels=2, latent_dim=8, linear_path=True)
    ),
    "lstm": lambda: LSTMWindowAutoencoder(
        LSTMWindowConfig(window=4, n_channels=2, latent_dim=8, linear_path=True)
    ),
}


@pytest.mark.parametrize("kind", sorted(WINDOW_MODULES))
def test_window_module_linear_path_starts_at_pca(kind):
    """With the linear path at PCA with every component, the module
    reconstructs its input exactly before training."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    module = WINDOW_MODULES[kind]().double()
    scales = torch.from_numpy(s / np.sqrt(len(x)))
    module.init_linear_path(torch.from_numpy(mean), torch.from_numpy(vt), scales)
    recon = module(torch.from_numpy(x))["recon"].detach().numpy()
    np.testing.assert_allclose(recon, x, atol=1e-10)


def test_conv_window_autoencoder_checks_its_input():
    windows = ts.sliding_windows(two_channels(200), 8)
    with pytest.raises(ValueError, match="n_channels=3 does not divide the 16"):
        aekit.WindowConvAutoencoder(n_channels=3, **FAST).fit(windows)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        aekit.WindowConvAutoencoder(kernel_size=4, **FAST).fit(windows)
    with pytest.raises(ValueError, match="noise=0.1 does not apply"):
        aekit.WindowConvAutoencoder(noise=0.1, **FAST).fit(windows)


def test_lstm_module_reads_windows_in_time_order():
    """The LSTM sees (window, channel) steps: a window and the same window
    reversed in time get different codes, and the output has the input's shape."""
    torch.manual_seed(0)
    module = LSTMWindowAutoencoder(LSTMWindowConfig(window=6, n_channels=3))
    x = torch.randn(4, 18)
    backwards = x.reshape(4, 6, 3).flip(1).reshape(4, 18)
    out = module(x)
    assert out["recon"].shape == x.shape and out["z"].shape == (4, 8)
    assert not torch.allclose(module.encode(x), module.encode(backwards))


def test_lstm_window_autoencoder_learns_and_checks_its_input():
    windows = ts.sliding_windows(two_channels(300), 8)
    with pytest.raises(ValueError, match="hidden_dims must hold one int"):
        aekit.WindowLSTMAutoencoder(hidden_dims=(8, 8), **FAST).fit(windows)
    with pytest.raises(ValueError, match="n_channels=3 does not divide the 16"):
        aekit.WindowLSTMAutoencoder(n_channels=3, **FAST).fit(windows)
    plain = dict(FAST, max_epochs=15, pca_path=False)
    ae = aekit.WindowLSTMAutoencoder(n_channels=2, **plain).fit(windows)
    losses = [h["loss"] for h in ae.history_]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("model", ["conv", "lstm"])
def test_window_model_series_detector_flags_a_shift_and_round_trips(tmp_path, model):
    x = two_channels()
    x[700:740, 0] += 2.0
    det = aekit.SeriesDetector(model=model, **FAST).fit(x[:600])
    kind = {"conv": aekit.WindowConvAutoencoder, "lstm": aekit.WindowLSTMAutoencoder}
    assert isinstance(det.model_.model_, kind[model])
    scores = det.decision_function(x)
    assert scores[700:740].mean() > scores[:600].max()
    det.save(tmp_path / "m")
    np.testing.assert_allclose(aekit.load(tmp_path / "m").decision_function(x), scores)
    np.testing.assert_allclose(
        det.score_stream(x[:200]), det.decision_function(x[:200])
    )


@pytest.mark.parametrize(
    "params", [{}, {"value_score": True}, {"latent_distance": True}]
)
def test_onnx_window_scores_equal_decision_function(tmp_path, params):
    onnxruntime = pytest.importorskip("onnxruntime")
    x = two_channels()
    det = aekit.SeriesDetector(**FAST, **params).fit(x[:600])
    windows = ts.sliding_windows(x, det.window_)
    path = det.to_onnx(tmp_path / "s.onnx")
    session = onnxruntime.InferenceSession(str(path))
    codes, recon, score = session.run(None, {"x": windows})
    points = ts.point_scores(score, det.window_, det.point_score)
    np.testing.assert_allclose(points, det.decision_function(x), rtol=0, atol=1e-5)
    np.testing.assert_allclose(recon, windows, atol=0.5)
    meta = aekit.export.read_metadata(path)
    assert int(meta["window"]) == det.window_
    assert float(meta["threshold"]) == det.threshold_


@pytest.mark.parametrize("model", ["conv", "lstm"])
def test_onnx_window_model_scores_in_float32(tmp_path, model):
    onnxruntime = pytest.importorskip("onnxruntime")
    x = two_channels()
    det = aekit.SeriesDetector(model=model, **FAST).fit(x[:600])
    windows = ts.sliding_windows(x, det.window_)
    path = det.to_onnx(tmp_path / "c.onnx")  # float32 by default for these
    session = onnxruntime.InferenceSession(str(path))
    score = session.run(None, {"x": windows.astype(np.float32)})[2]
    with torch.no_grad():
        graph = det.inference_graph(torch.float32)
        torch_score = graph(torch.tensor(windows, dtype=torch.float32))[2].numpy()
    np.testing.assert_allclose(score, torch_score, rtol=1e-5, atol=1e-5)
    reference = det._window_scores(det._window_outputs(det._scaled(x)))
    np.testing.assert_allclose(score, reference, rtol=1e-4, atol=1e-4)


def test_cross_fit_calibration_scores_training_windows_out_of_sample():
    """A model fitted on few windows scores its own windows low: cross-fitted
    calibration raises the threshold and flags fewer new normal points."""
    x = two_channels(1400, period=25)
    x[:, 1] += 0.3 * np.random.default_rng(1).normal(size=len(x))
    inside = aekit.SeriesDetector(window=24, **FAST).fit(x[:300])
    crossed = aekit.SeriesDetector(window=24, calibration="cross-fit", **FAST)
    crossed.fit(x[:300])
    assert crossed.calibration_ == "cross-fit" and inside.calibration_ == "in-sample"
    assert crossed.resolved_params_["calibration"] == "cross-fit"
    assert crossed.predict(x[300:]).mean() <= inside.predict(x[300:]).mean()
    assert crossed.decision_scores_.shape == (300,)
    short = aekit.SeriesDetector(window=24, calibration="cross-fit", **FAST)
    assert short.fit(x[:60]).calibration_ == "in-sample"  # blocks under a window


def test_trend_share_and_value_channels_rule():
    t = np.arange(500, dtype=float)
    flat = np.sin(t / 5)
    trend = t / 100 + 0.1 * np.sin(t / 5)
    shares = ts.trend_share(np.column_stack([flat, trend, np.ones(500)]))
    assert shares[0] < 0.05 and shares[1] > 0.9 and shares[2] == 0.0
    trending = aekit.SeriesDetector(**FAST).fit(trend)
    level = aekit.SeriesDetector(**FAST).fit(flat)
    several = aekit.SeriesDetector(**FAST).fit(np.column_stack([flat, flat**2]))
    every = aekit.SeriesDetector(value_score=True, **FAST).fit(trend)
    assert not trending.value_channels_.any() and level.value_channels_.all()
    assert not several.value_channels_.any() and every.value_channels_.all()
    deviation = ts.value_deviation(
        np.ones((4, 2)), np.ones((3, 2)), np.array([False, False])
    )
    np.testing.assert_array_equal(deviation, 0.0)


def test_auto_window_is_capped_by_rows_per_channel():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    wave = np.sin(2 * np.pi * t / 60)
    x = np.column_stack([wave + 0.05 * rng.normal(size=400) for _ in range(8)])
    assert aekit.SeriesDetector(**FAST).fit(x).window_ == 400 // (4 * 8)
    assert aekit.SeriesDetector(**FAST).fit(x[:, 0]).window_ == 60


def test_cli_conv_window_model_and_onnx_export(tmp_path):
    pytest.importorskip("onnxruntime")
    import pandas as pd

    from aekit.cli.main import main

    x = two_channels(500)
    x[400:420, 1] += 3.0
    path = tmp_path / "series.csv"
    pd.DataFrame(x, columns=["a", "b"]).to_csv(path, index=False)
    out, model = tmp_path / "scores.csv", tmp_path / "m"
    main(
        [
            "detect", str(path), "--series", "--window-model", "conv",
            "-o", str(out), "--model-dir", str(model),
        ]
    )  # fmt: skip
    assert aekit.load(model).model == "conv"
    assert main(["export", str(model), "-o", str(tmp_path / "m.onnx")]) in (0, None)
    meta = aekit.export.read_metadata(tmp_path / "m.onnx")
    assert meta["estimator"] == "series" and meta["dtype"] == "float32"


@pytest.mark.parametrize("gap, min_length", [(0, 1), (1, 2), (3, 4), (6, 1), (0, 5)])
def test_points_graph_labels_follow_merge_runs(gap, min_length):
    """The graph's gap filling and short-run removal (sliding maxima) against
    `merge_runs` on random flags."""
    det = aekit.SeriesDetector(merge_gap=gap, min_length=min_length, **FAST)
    graph = det.fit(two_channels(300)).points_graph()
    rng = np.random.default_rng(gap * 10 + min_length)
    for density in (0.1, 0.4, 0.8):
        flags = rng.random(200) < density
        expected = np.zeros(200, np.int64)
        for start, end in ts.merge_runs(flags, gap, min_length):
            expected[start : end + 1] = 1
        f = torch.from_numpy(flags.astype(np.float64))
        if gap > 0:
            f = graph._merged(f, 200)
        if min_length > 1:
            f = graph._long_runs(f)
        np.testing.assert_array_equal(f.numpy().astype(np.int64), expected)


@pytest.mark.parametrize(
    "params", [{"merge_gap": 3, "min_length": 4}, {"point_score": "end"}, {}]
)
def test_onnx_points_graph_equals_decision_function_and_predict(tmp_path, params):
    onnxruntime = pytest.importorskip("onnxruntime")
    x = two_channels()
    x[700:720, 0] += 2.0
    x[735:745, 0] += 2.0  # a second event, a gap away
    det = aekit.SeriesDetector(**FAST, **params).fit(x[:600])
    path = det.to_onnx(tmp_path / "p.onnx", points=True)
    session = onnxruntime.InferenceSession(str(path))
    for series in (x, x[: det.window_ + 1], x[650:]):  # any length above a window
        score, label = session.run(None, {"x": series})
        np.testing.assert_allclose(score, det.decision_function(series), atol=1e-9)
        np.testing.assert_array_equal(label, det.predict(series))
    assert label.sum() > 0
    meta = aekit.export.read_metadata(path)
    assert meta["outputs"] == '["score", "label"]'
    assert meta["input_shape"] == '["time", 2]'


def test_cli_export_points(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from aekit.cli.main import main

    det = aekit.SeriesDetector(**FAST).fit(two_channels(400))
    det.save(tmp_path / "m")
    out = tmp_path / "s.onnx"
    assert main(["export", str(tmp_path / "m"), "-o", str(out), "--points"]) == 0
    assert "outputs score, label" in capsys.readouterr().out
    tabular = aekit.Autoencoder((4,), 2, **FAST).fit(two_channels(100))
    tabular.save(tmp_path / "d")
    assert main(["export", str(tmp_path / "d"), "-o", str(out), "--points"]) == 1
    assert "--points exports a series detector" in capsys.readouterr().err
