"""SeriesDetector: window and scaling rules, aligned scores, batch == stream,
planted anomalies flagged, segments, bad input, save/load."""

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit.data import series as ts

FAST = dict(max_epochs=5, random_state=0, device="cpu")
PERIOD = 40  # (at least ts.MIN_WINDOW, so the window is the period)


def wave(n=1200, seed=0, noise=0.05, period=PERIOD):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + noise * rng.normal(size=n)


@pytest.fixture(scope="module")
def fitted():
    return aekit.SeriesDetector(**FAST).fit(wave(600))


# -- data rules ---------------------------------------------------------------------


def test_auto_window_is_the_period_clipped_and_falls_back():
    assert ts.auto_window(wave(2000, period=40)[:, None])[0] == 40
    assert ts.auto_window(wave(2000, period=4)[:, None])[0] == ts.MIN_WINDOW
    assert ts.auto_window(wave(3000, period=600)[:, None])[0] == ts.MAX_WINDOW
    noise = np.random.default_rng(0).normal(size=(500, 1))
    assert ts.auto_window(noise) == (ts.FALLBACK_WINDOW, None)


def test_robust_scaling_and_constant_channel():
    values = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0], [100.0, 5.0]])
    shift, scale = ts.fit_channel_scaler(values, "robust")
    np.testing.assert_allclose(shift, [3.0, 5.0])
    np.testing.assert_allclose(scale, [2.0 / 1.349, 1.0])  # IQR 2; constant: 1
    shift, scale = ts.fit_channel_scaler(values, "standard")
    np.testing.assert_allclose(scale[0], values[:, 0].std())


def test_windows_and_point_rules_on_a_tiny_series():
    values = np.arange(10.0).reshape(5, 2)
    windows = ts.sliding_windows(values, 2, 2)  # starts 0, 2 and the last, 3
    np.testing.assert_array_equal(windows[:, 0], [0.0, 4.0, 6.0])
    np.testing.assert_array_equal(windows[0], [0.0, 1.0, 2.0, 3.0])
    scores = np.array([1.0, 2.0, 3.0])  # windows of 3 over 5 points
    np.testing.assert_array_equal(ts.point_scores(scores, 3, "end"), [1, 1, 1, 2, 3])
    np.testing.assert_allclose(ts.point_scores(scores, 3, "mean"), [1, 1.5, 2, 2.5, 3])


def test_value_deviation_by_side_and_window_max():
    scaled = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 4.0], [3.0, 0.0], [10.0, 0.0]])
    reference = ts.fit_value_reference(scaled)
    # channel 0: median 2, quartiles 1 and 3; channel 1: all spreads 0 -> 1
    np.testing.assert_allclose(reference[:, 0], [2.0, 1.0, 1.0])
    np.testing.assert_allclose(reference[:, 1], [0.0, 1.0, 1.0])
    new = np.array([[-2.0, 0.0], [2.0, 0.5], [5.0, -7.0]])
    np.testing.assert_allclose(ts.value_deviation(new, reference), [4.0, 0.5, 7.0])
    np.testing.assert_array_equal(ts.window_max(np.array([1.0, 3, 2, 0]), 2), [3, 3, 2])


def test_value_score_is_the_larger_of_two_window_scores():
    x = wave(900)
    x[700:760] += 4.0
    plain = aekit.SeriesDetector(value_score=False, **FAST).fit(x[:600])
    det = aekit.SeriesDetector(**FAST).fit(x[:600])  # the same window model
    scaled = (x[:, None] - det.shift_) / det.scale_
    spread = ts.window_max(ts.value_deviation(scaled, det.value_reference_), PERIOD)
    values = (spread - det.value_center_) / det.value_scale_
    recon = plain._window_scores(plain._window_outputs(scaled))
    expected = ts.point_scores(np.maximum(recon, values), PERIOD, "mean")
    np.testing.assert_allclose(det.decision_function(x), expected, atol=1e-9)
    # the training windows' 99% value deviation scores 2.326
    train = (x[:600, None] - det.shift_) / det.scale_
    own = ts.window_max(ts.value_deviation(train, det.value_reference_), PERIOD)
    top = (np.quantile(own, 0.99) - det.value_center_) / det.value_scale_
    assert top == pytest.approx(2.326)
    assert det.decision_function(x)[710:750].min() > det.threshold_


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "leaky_relu", "selu"])
def test_numpy_window_graph_equals_torch(activation):
    import torch

    from aekit.estimators._base import run_graph
    from aekit.estimators._series_numpy import numpy_window_error

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(64, 12))
    ae = aekit.Autoencoder(
        (8,), 3, activation=activation, pca_path=True, max_epochs=2, random_state=0
    ).fit(rows)
    graph = ae.inference_graph(torch.float64)
    error = numpy_window_error(graph)
    assert error is not None
    expected = run_graph(graph, rows[:5], torch.float64, keep=(2,))[0]
    got = [error(row) for row in rows[:5]]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    normed = aekit.Autoencoder((8,), 3, batch_norm=True, max_epochs=1).fit(rows)
    assert numpy_window_error(normed.inference_graph(torch.float64)) is None


def test_nan_cells_are_interpolated():
    values = np.array([[1.0], [np.nan], [3.0], [np.nan]])
    filled, count = ts.fill_missing(values)
    assert count == 2
    np.testing.assert_array_equal(filled[:, 0], [1.0, 2.0, 3.0, 3.0])


def test_segments_merge_over_short_gaps_and_drop_short_ones():
    flags = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1], bool)
    assert ts.merge_runs(flags, 1, 1) == [(0, 3), (7, 7), (12, 14)]
    assert ts.merge_runs(flags, 3, 2) == [(0, 7), (12, 14)]
    assert ts.merge_runs(flags, 0, 3) == [(12, 14)]


# -- the estimator --------------------------------------------------------------------


def test_fit_resolves_auto_and_scores_every_point(fitted):
    assert fitted.window_ == PERIOD and fitted.period_ == PERIOD
    assert fitted.resolved_params_["window"] == PERIOD
    assert fitted.stride_ == 1 and 1 <= fitted.latent_dim_ <= 32
    scores = fitted.decision_function(wave(300, seed=1))
    assert scores.shape == (300,) and np.isfinite(scores).all()
    assert fitted.decision_scores_.shape == fitted.labels_.shape == (600,)
    # typical windows score about 0 (robust z); the value part, a second
    # score about 0, raises the median of the larger of the two a little
    assert 0.0 < np.median(fitted.decision_scores_) < 1.5
    plain = aekit.SeriesDetector(value_score=False, **FAST).fit(wave(600))
    assert abs(np.median(plain.decision_scores_)) < 0.5


def test_batch_and_stream_scores_agree():
    det = aekit.SeriesDetector(point_score="end", **FAST).fit(wave(300))
    x = wave(200, seed=2)
    x[120] += 3.0
    batch = det.decision_function(x)
    np.testing.assert_allclose(det.score_stream(x), batch, rtol=0, atol=1e-6)
    det.reset_stream()
    scores = np.array([det.update(v) for v in x])
    assert np.isnan(scores[: PERIOD - 1]).all()
    np.testing.assert_allclose(scores[PERIOD - 1 :], batch[PERIOD - 1 :], atol=1e-6)


def _flagged(det, x, where):
    labels = det.predict(x)
    return labels[where].any(), labels[:500].mean()


@pytest.mark.parametrize("kind", ["spike", "level", "frequency"])
def test_planted_anomalies_are_flagged(fitted, kind):
    x = wave(1000, seed=3)
    if kind == "spike":
        x[800] += 4.0
    elif kind == "level":
        x[800:850] += 1.5
    else:
        t = np.arange(800, 900)
        x[800:900] = np.sin(2 * np.pi * t / 7) + 0.05
    hit, false_rate = _flagged(fitted, x, slice(800, 900))
    assert hit and false_rate < 0.05
    segment = fitted.segments(x)[0]
    assert 790 <= segment["peak"] <= 900 and segment["channels"] == ["0"]


def test_fit_on_a_series_that_holds_its_anomaly():
    # no clean training period: the detector is fitted on the series it scores,
    # 7% of whose points are a planted frequency change, which still stands
    # out (by more than 10x the 99% quantile of the other points' scores when
    # written, with or without trimming)
    x = wave(1200, seed=4)
    t = np.arange(700, 780)
    x[700:780] = np.sin(2 * np.pi * t / 7)
    det = aekit.SeriesDetector(**FAST).fit(x)
    scores = det.decision_scores_
    inside, outside = scores[700:780], np.r_[scores[:650], scores[830:]]
    assert inside.max() > np.quantile(outside, 0.99)
    assert det.labels_[700:780].any() and det.labels_[:650].mean() < 0.05


def test_multichannel_segment_names_the_channel():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"temp": wave(900, seed=5), "load": rng.normal(size=900) * 0.1 + 1.0},
        index=pd.date_range("2026-01-01", periods=900, freq="min"),
    )
    det = aekit.SeriesDetector(**FAST).fit(frame.iloc[:600])
    assert det.window_ == PERIOD
    test = frame.copy()
    test.iloc[700:710, 1] += 3.0
    found = det.segments(test)
    assert found and found[0]["channels"][0] == "load"
    assert found[0]["start_time"].startswith("2026-01-01")
    explained = det.explain(test)
    assert list(explained.columns) == ["temp", "load"]


def test_time_column_and_list_of_series():
    frame = pd.DataFrame({"ts": np.arange(400) * 60, "value": wave(400)})
    det = aekit.SeriesDetector(time_column="ts", **FAST).fit([frame, frame])
    assert det.decision_scores_.shape == (800,)
    scores = det.decision_function([frame, frame.iloc[:100]])
    assert [len(s) for s in scores] == [400, 100]


@pytest.mark.parametrize("rule", ["contamination", "auto", "control"])
def test_threshold_rules(rule):
    value = {"contamination": 0.05, "auto": "auto", "control": "control"}[rule]
    det = aekit.SeriesDetector(contamination=value, **FAST).fit(wave(500))
    train = det.decision_scores_
    if rule == "contamination":
        assert det.threshold_ == pytest.approx(np.quantile(train, 0.95))
    if rule == "control":
        mad = np.median(np.abs(train - np.median(train)))
        expected = np.median(train) + 1.5 * 2.326 * 1.4826 * mad
        assert det.threshold_ == pytest.approx(expected)
    assert det.labels_.mean() <= 0.2


# -- bad input ----------------------------------------------------------------------


def test_nan_cells_are_filled_and_reported(fitted):
    x = wave(300, seed=6)
    x[[10, 150]] = np.nan
    with pytest.warns(UserWarning, match="2 NaN cells"):
        scores = fitted.decision_function(x)
    assert np.isfinite(scores).all()
    y = wave(400)
    y[5] = np.nan
    assert aekit.SeriesDetector(**FAST).fit(y).n_filled_ == 1


def test_constant_channel_is_handled():
    x = np.column_stack([wave(400), np.full(400, 7.0)])
    det = aekit.SeriesDetector(**FAST).fit(x)
    assert det.scale_[1] == 1.0
    assert np.isfinite(det.decision_function(x)).all()


def test_short_series_and_wrong_channel_count(fitted):
    with pytest.raises(ValueError, match="n_samples=10 points, fewer than window_"):
        fitted.decision_function(wave(10))
    with pytest.raises(ValueError, match="2 features, but SeriesDetector is expecting"):
        fitted.decision_function(np.ones((100, 2)))
    with pytest.raises(ValueError, match="point has 2 values.*1 channels"):
        fitted.update([1.0, 2.0])
    with pytest.raises(ValueError, match="n_samples=5"):
        aekit.SeriesDetector(window=8).fit(wave(5))


def test_unsorted_duplicated_and_gapped_timestamps():
    index = pd.date_range("2026-01-01", periods=200, freq="h")
    frame = pd.DataFrame({"v": wave(200)}, index=index)
    with pytest.raises(ValueError, match="unsorted timestamps"):
        aekit.SeriesDetector(**FAST).fit(frame.iloc[::-1])
    swapped = frame.iloc[[0, 1, 2, 4, 3, *range(5, 200)]]
    with pytest.raises(ValueError, match="unsorted timestamps \\(first at row 4: "):
        aekit.SeriesDetector(**FAST).fit(swapped)
    named = frame.rename_axis("t")  # time_column naming the index is the index
    fitted = aekit.SeriesDetector(time_column="t", **FAST).fit(named)
    np.testing.assert_allclose(
        fitted.decision_function(named), fitted.decision_function(named.reset_index())
    )
    with pytest.raises(ValueError, match="duplicated timestamps"):
        aekit.SeriesDetector(**FAST).fit(pd.concat([frame.iloc[:1], frame]))
    with pytest.warns(UserWarning, match="1 gaps in its timestamps"):
        aekit.SeriesDetector(**FAST).fit(frame.drop(index[50:53]))
    with pytest.raises(ValueError, match="time_column='t' is neither a column"):
        aekit.SeriesDetector(time_column="t").fit(frame)
    holed = frame.reset_index(names="t")
    holed.loc[5, "t"] = pd.NaT
    with pytest.raises(ValueError, match="1 missing timestamps \\(first at row 5\\)"):
        aekit.SeriesDetector(time_column="t").fit(holed)
    zoned = frame.tz_localize("Europe/Berlin")  # time zones: the same rules
    with pytest.warns(UserWarning, match="1 gaps in its timestamps") as caught:
        aekit.SeriesDetector(**FAST).fit(zoned.drop(zoned.index[50:53]))
    assert len(caught) == 1  # (and no warning about the zone itself)


def test_bad_parameters():
    with pytest.raises(ValueError, match="contamination must be"):
        aekit.SeriesDetector(contamination="often").fit(wave(100))
    with pytest.raises(ValueError, match="^window must be 'auto' or an int >= 2"):
        aekit.SeriesDetector(window=1).fit(wave(100))


def test_mean_rule_streams_each_score_window_minus_one_points_later():
    det = aekit.SeriesDetector(point_score="mean", **FAST).fit(wave(300))
    x = wave(200, seed=9)
    x[100] += 3.0
    batch = det.decision_function(x)
    np.testing.assert_allclose(det.score_stream(x), batch, rtol=0, atol=1e-6)
    det.reset_stream()
    delayed = np.array([det.update(v) for v in x])
    lag = det.window_ - 1
    assert np.isnan(delayed[:lag]).all()
    # a point's score is final once its last covering window has arrived
    np.testing.assert_allclose(delayed[lag:], batch[: len(x) - lag], atol=1e-6)


def test_interleaved_streams_keep_their_own_buffers():
    """A fleet streamed through one detector: points of two machines arriving
    interleaved score as each machine's series alone."""
    det = aekit.SeriesDetector(point_score="mean", **FAST).fit(wave(300))
    a, b = wave(150, seed=3), wave(150, seed=4)
    b[80] = np.nan  # filled from the stream's own previous value
    b[100] += 3.0
    mixed = {"a": [], "b": []}
    for va, vb in zip(a, b, strict=True):
        mixed["a"].append(det.update(va, stream="a"))
        mixed["b"].append(det.update(vb, stream="b"))
    alone = {
        "a": det.score_stream(a, reset=True, stream="solo-a"),
        "b": det.score_stream(np.where(np.isnan(b), b[79], b), stream="solo-b"),
    }
    lag = det.window_ - 1
    for name in "ab":
        got = np.array(mixed[name])
        assert np.isnan(got[:lag]).all()
        np.testing.assert_allclose(got[lag:], alone[name][: len(got) - lag], atol=1e-9)
    assert det.stream_filled_of("b") == 1 and det.stream_filled_of("a") == 0
    assert det.stream_filled == 0  # the default stream never started
    det.reset_stream("b")
    assert det.stream_filled_of("b") == 0


# -- persistence --------------------------------------------------------------------


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    x = wave(300, seed=7)
    np.testing.assert_array_equal(
        loaded.decision_function(x), fitted.decision_function(x)
    )
    assert loaded.window_ == fitted.window_ and loaded.segments_ == fitted.segments_
    np.testing.assert_allclose(loaded.score_stream(x), fitted.decision_function(x))


# -- CLI ----------------------------------------------------------------------------


def test_cli_detect_series_end_to_end(tmp_path):
    from aekit.cli.main import main
    from tests.conftest import assert_picture

    x = wave(600, seed=8)
    x[450:455] += 4.0
    stamps = pd.date_range("2026-01-01", periods=600, freq="5min")
    path = tmp_path / "series.csv"
    pd.DataFrame({"timestamp": stamps, "value": x}).to_csv(path, index=False)
    out, png, model = tmp_path / "scores.csv", tmp_path / "s.png", tmp_path / "m"
    main(
        [
            "detect", str(path), "--series", "--time-column", "timestamp",
            "--window", "auto", "-o", str(out), "--plot", str(png),
            "--model-dir", str(model),
        ]
    )  # fmt: skip
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["timestamp", "score", "label"]
    assert len(scores) == 600 and scores["label"].iloc[450:480].any()
    assert_picture(png)
    assert aekit.load(model).window_ == PERIOD


def _skab_like_file(tmp_path, sep=";"):
    """A two-channel series in SKAB's file layout: semicolons, a datetime
    column first, label columns last; a level shift at rows 300-339."""
    x = np.column_stack([wave(400, seed=11), wave(400, seed=12)])
    x[300:340, 1] += 5.0
    frame = pd.DataFrame(x, columns=["Pressure", "Current"])
    stamps = pd.date_range("2020-03-09 10:14:33", periods=400, freq="s")
    frame.insert(0, "datetime", stamps.strftime("%Y-%m-%d %H:%M:%S"))
    frame["anomaly"] = 0.0
    path = tmp_path / "series.csv"
    frame.to_csv(path, sep=sep, index=False)
    return path, frame


def _detect(path, out, *extra):
    from aekit.cli.main import main

    main(
        ["detect", str(path), "--series", "--drop", "anomaly", "-o", str(out),
         "--random-state", "0", *extra]
    )  # fmt: skip
    return pd.read_csv(out)


def test_cli_series_fits_on_the_first_rows_and_scores_every_row(tmp_path):
    path, _ = _skab_like_file(tmp_path)
    scores = _detect(path, tmp_path / "s.csv", "--train-rows", "200")
    assert list(scores.columns) == ["datetime", "score", "label"]
    assert len(scores) == 400
    assert scores["label"].iloc[300:340].mean() > 0.5  # the shift, unseen in fit
    assert scores["label"].iloc[:200].mean() < 0.05
    explained = _detect(path, tmp_path / "e.csv", "--train-rows", "200", "--explain")
    assert list(explained.columns)[3:] == ["error_Pressure", "error_Current"]
    np.testing.assert_allclose(explained["score"], scores["score"])
    shifted = explained.iloc[300:340]  # the shift was planted in Current
    assert (shifted["error_Current"] > shifted["error_Pressure"]).mean() > 0.8


def test_cli_series_fit_on_a_file_and_score_with_the_saved_model(tmp_path, capsys):
    from aekit.cli.main import main

    path, frame = _skab_like_file(tmp_path)
    train = tmp_path / "train.csv"
    frame.iloc[:200].to_csv(train, sep=";", index=False)
    whole = _detect(
        path, tmp_path / "a.csv", "--fit-on", str(train), "--model-dir",
        str(tmp_path / "m"),
    )  # fmt: skip
    first = _detect(path, tmp_path / "b.csv", "--train-rows", "200")
    np.testing.assert_allclose(whole["score"], first["score"], rtol=1e-9)
    main(["score", str(tmp_path / "m"), str(path), "--drop", "anomaly",
          "-o", str(tmp_path / "c.csv")])  # fmt: skip
    saved = pd.read_csv(tmp_path / "c.csv")
    np.testing.assert_allclose(saved["score"], whole["score"], rtol=1e-9)
    assert (saved["label"] == whole["label"]).all()
    assert "points flagged" in capsys.readouterr().out


def test_cli_series_training_period_errors(tmp_path, capsys):
    from aekit.cli.main import main

    path, frame = _skab_like_file(tmp_path)
    other = tmp_path / "other.csv"
    frame.drop(columns="Current").to_csv(other, sep=";", index=False)
    for extra, message in [
        (["--train-rows", "1"], "--train-rows must be between 2"),
        (["--train-rows", "999"], "--train-rows must be between 2"),
        (["--fit-on", str(other)], "they must match"),
        (["--fit-on", str(other), "--train-rows", "9"], "not both"),
    ]:
        status = main(["detect", str(path), "--series", "--drop", "anomaly",
                       "-o", str(tmp_path / "x.csv"), *extra])  # fmt: skip
        assert status == 1 and message in capsys.readouterr().err


def test_cli_train_series_model_then_score(tmp_path):
    from aekit.cli.main import main

    path, frame = _skab_like_file(tmp_path)
    train = tmp_path / "train.csv"
    frame.iloc[:200].to_csv(train, sep=";", index=False)
    model = tmp_path / "m"
    assert main(["train", str(train), "--model", "series", "--drop", "anomaly",
                 "--random-state", "0", "-o", str(model)]) == 0  # fmt: skip
    assert main(["score", str(model), str(path), "--drop", "anomaly",
                 "-o", str(tmp_path / "s.csv")]) == 0  # fmt: skip
    scored = pd.read_csv(tmp_path / "s.csv")
    detected = _detect(path, tmp_path / "d.csv", "--fit-on", str(train))
    np.testing.assert_allclose(scored["score"], detected["score"], rtol=1e-9)
    assert list(scored.columns) == ["datetime", "score", "label"]


def test_cli_series_fleet_folder(tmp_path):
    from aekit.cli.main import main

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for name, seed in (("pump_a", 21), ("pump_b", 22)):
        x = np.column_stack([wave(300, seed=seed), wave(300, seed=seed + 10)])
        if name == "pump_b":
            x[220:250, 0] += 5.0
        pd.DataFrame(x, columns=["flow", "current"]).to_csv(
            fleet / f"{name}.csv", index=False
        )
    out, png = tmp_path / "s.csv", tmp_path / "p.png"
    assert main(["detect", str(fleet), "--series", "--train-rows", "150",
                 "-o", str(out), "--plot", str(png), "--model-dir",
                 str(tmp_path / "m"), "--random-state", "0"]) == 0  # fmt: skip
    table = pd.read_csv(out)
    assert list(table.columns) == ["series", "index", "score", "label"]
    b = table[table["series"] == "pump_b"].reset_index(drop=True)
    assert len(b) == 300 and b["label"].iloc[220:250].mean() > 0.5
    assert (tmp_path / "p_pump_a.png").is_file() and (
        tmp_path / "p_pump_b.png"
    ).is_file()
    # unsupervised: fit on both whole series, segments back in each one's rows
    assert main(["detect", str(fleet), "--series", "-o", str(out),
                 "--random-state", "0"]) == 0  # fmt: skip
    whole = pd.read_csv(out)
    assert len(whole) == 600 and whole.groupby("series").size().tolist() == [300, 300]
    b = whole[whole["series"] == "pump_b"].reset_index(drop=True)
    assert b["label"].iloc[220:250].all() and not whole["label"].iloc[:300].any()
    assert main(["score", str(tmp_path / "m"), str(fleet), "-o",
                 str(tmp_path / "c.csv")]) == 0  # fmt: skip
    np.testing.assert_allclose(pd.read_csv(tmp_path / "c.csv")["score"], table["score"])


def test_cli_series_day_first_dates_time_column_not_first_and_fleet_checks(
    tmp_path, capsys
):
    from aekit.cli.main import main

    # day-first dates read day first (month first would put them out of order)
    x = wave(400, seed=5)
    stamps = pd.date_range("2024-01-01", periods=400, freq="h")
    frame = pd.DataFrame({"value": x, "time": stamps.strftime("%d/%m/%Y %H:%M")})
    path = tmp_path / "dmy.csv"
    frame.to_csv(path, index=False)  # the time column is not the first
    out, model = tmp_path / "o.csv", tmp_path / "m"
    assert main(["detect", str(path), "--series", "--time-column", "time",
                 "--train-rows", "200", "-o", str(out), "--model-dir",
                 str(model)]) == 0  # fmt: skip
    written = pd.read_csv(out, parse_dates=["time"])
    assert (written["time"] == stamps).all()
    # the saved detector keeps its time column: `score` finds it again
    assert main(["score", str(model), str(path), "-o", str(tmp_path / "s.csv")]) == 0
    np.testing.assert_allclose(
        pd.read_csv(tmp_path / "s.csv")["score"], written["score"]
    )
    # a column the fit did not have: the error names it and suggests --drop
    frame.assign(extra=1.0).to_csv(tmp_path / "extra.csv", index=False)
    capsys.readouterr()
    assert main(["score", str(model), str(tmp_path / "extra.csv"), "-o",
                 str(tmp_path / "x.csv")]) == 1  # fmt: skip
    assert "--drop extra?" in capsys.readouterr().err
    # a fleet: files must share channels (named); alike stems keep their suffix
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    frame.to_csv(fleet / "a.csv", index=False)
    frame.to_parquet(fleet / "a.parquet", index=False)
    assert main(["detect", str(fleet), "--series", "--time-column", "time",
                 "-o", str(out)]) == 0  # fmt: skip
    assert set(pd.read_csv(out)["series"]) == {"a.csv", "a.parquet"}
    frame.rename(columns={"value": "flow"}).to_csv(fleet / "b.csv", index=False)
    capsys.readouterr()
    assert main(["detect", str(fleet), "--series", "--time-column", "time",
                 "-o", str(out)]) == 1  # fmt: skip
    assert "b.csv has ['flow'], a.csv has ['value']" in capsys.readouterr().err
    # aekit train reads a folder as a fleet
    (fleet / "b.csv").unlink()
    assert main(["train", str(fleet), "--model", "series", "-o",
                 str(tmp_path / "t")]) == 0  # fmt: skip


def test_series_too_short_to_train_and_first_stream_nan():
    with pytest.raises(ValueError, match="2 windows of window_=8 points, fewer than 3"):
        aekit.SeriesDetector(window=8, **FAST).fit(wave(9))
    with pytest.warns(UserWarning, match="window_ is 2, capped by the shortest"):
        aekit.SeriesDetector(**FAST).fit(np.column_stack([wave(40)] * 4))
    det = aekit.SeriesDetector(**FAST).fit(wave(300) + 100.0)  # far from 0
    y = wave(200, seed=2) + 100.0
    y[0] = np.nan  # no earlier value: the stream takes the training centre
    streamed = det.score_stream(y)
    assert np.nanmax(streamed) < det.threshold_
