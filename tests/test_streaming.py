"""Out-of-core input: tables read in chunks (.npy, Parquet), one-pass statistics,
the streamed training source and its rules, bad files, and the in-memory path's
memory-saving sources giving the same results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.decomposition import PCA

import aekit
from aekit.data.chunks import is_chunked, open_table
from aekit.data.moments import ColumnStats
from aekit.estimators._autoencoder import pca_solution
from aekit.training import sources
from aekit.training.streaming import StreamSource, held_out

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")


def low_rank(n: int = 600, d: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) @ rng.normal(size=(3, d))
    return X + 0.05 * rng.normal(size=(n, d)) + np.arange(d)


def write_parquet(folder, X, n_files=3, group=70, names=None, extra=None):
    """X split over ``n_files`` files of row groups of ``group`` rows."""
    folder.mkdir(exist_ok=True)
    names = names or [f"c{j}" for j in range(X.shape[1])]
    for i, part in enumerate(np.array_split(X, n_files)):
        columns = {name: part[:, j] for j, name in enumerate(names)}
        columns.update(extra or {})
        table = pa.table({k: v[: len(part)] for k, v in columns.items()})
        pq.write_table(table, folder / f"p{i}.parquet", row_group_size=group)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    X = low_rank()
    np.save(folder / "x.npy", X)
    return X, folder / "x.npy", write_parquet(folder / "pq", X)


@pytest.fixture(scope="module")
def fitted(files):
    X, npy, _ = files
    params = dict(hidden_dims=(16,), latent_dim=3, max_epochs=4, random_state=0)
    return aekit.Autoencoder(**params).fit(npy), aekit.Autoencoder(**params).fit(X)


def test_column_stats_merge_chunks_as_one_pass():
    X = low_rank(500) * 1e3 + 1e6  # large offset: the pairwise update stays exact
    stats = ColumnStats.of_chunks(np.array_split(X, 7), covariance=True)
    np.testing.assert_allclose(stats.mean, X.mean(0), rtol=1e-14)
    np.testing.assert_allclose(stats.std, X.std(0), rtol=1e-9)
    cov = stats.m2 / (stats.n - 1)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False), rtol=1e-8, atol=1e-6)
    assert (stats.low == X.min(0)).all() and (stats.high == X.max(0)).all()
    assert not stats.whole and not stats.binary
    ints = ColumnStats.of_chunks([np.array([[0.0, 1.0], [1.0, 0.0]]), np.ones((3, 2))])
    assert ints.whole and ints.binary


def test_pca_from_covariance_matches_sklearn():
    X = low_rank(400)
    components, scales = pca_solution(np.cov(X, rowvar=False), 3)
    pca = PCA(3).fit(X)
    np.testing.assert_allclose(components, pca.components_, atol=1e-8)
    np.testing.assert_allclose(scales**2, pca.explained_variance_, rtol=1e-8)


def test_tables_read_every_row_once_in_chunks(files):
    X, npy, folder = files
    for source in (npy, np.load(npy, mmap_mode="r"), folder, ds.dataset(folder)):
        table = open_table(source, chunk_rows=64)
        assert table.shape == X.shape
        index, rows = zip(*table.chunks(), strict=True)
        assert max(len(r) for r in rows) <= 64
        np.testing.assert_array_equal(np.concatenate(index), np.arange(len(X)))
        np.testing.assert_allclose(np.concatenate(rows), X)
    chosen = open_table(ds.dataset(folder), columns=["c3", "c1"])
    np.testing.assert_allclose(np.concatenate(list(chosen.blocks())), X[:, [3, 1]])


def test_shards_are_disjoint_and_cover_the_rows(files):
    table = open_table(files[2])
    seen = [
        np.concatenate([i for i, _ in table.shard(rank, 3).chunks()])
        for rank in range(3)
    ]
    assert all(len(s) for s in seen)
    together = np.concatenate(seen)
    np.testing.assert_array_equal(np.sort(together), np.arange(len(table)))
    source = StreamSource(open_table(files[2]), np.zeros(10), np.ones(10))
    assert sum(len(source.shard(r, 2)) for r in range(2)) == len(table)
    with pytest.raises(ValueError, match="rank"):
        table.shard(3, 3)


def test_validation_split_is_a_fixed_function_of_the_row_index():
    rows = np.arange(100_000)
    a, b = held_out(rows, 0.1, 7), held_out(rows, 0.1, 7)
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 0.1) < 0.005
    assert (a != held_out(rows, 0.1, 8)).any()  # the seed changes it
    np.testing.assert_array_equal(held_out(rows[5000:6000], 0.1, 7), a[5000:6000])


def test_stream_epochs_shuffle_and_see_each_training_row_once(files, monkeypatch):
    X, _, folder = files
    monkeypatch.setattr("aekit.training.streaming.SHUFFLE_CELLS", 2000)
    source = StreamSource(open_table(folder, chunk_rows=50), np.zeros(10), np.ones(10))
    train, val = source.split_rows(0.2, torch.Generator().manual_seed(0))
    assert len(train) + len(val) == len(X) and 60 < len(val) < 180
    g = torch.Generator().manual_seed(1)
    epoch = torch.cat(list(train.batches(32, g))).numpy().astype(np.float64)
    held = torch.cat(list(val.batches(32))).numpy().astype(np.float64)
    assert len(epoch) in (len(train), len(train) - 1)  # a last single row dropped
    every = np.concatenate([epoch, held])
    order = np.lexsort(every.T)
    np.testing.assert_allclose(every[order], X[np.lexsort(X.T)].astype(np.float32))
    in_file_order = torch.cat(list(train.batches(32))).numpy()
    assert not np.array_equal(
        epoch[: len(epoch) // 2], in_file_order[: len(epoch) // 2]
    )


def test_streamed_fit_matches_in_memory_scaling_and_quality(fitted, files):
    streamed, in_memory = fitted
    X = files[0]
    np.testing.assert_allclose(
        streamed.input_shift_, in_memory.input_shift_, rtol=1e-12
    )
    np.testing.assert_allclose(
        streamed.input_scale_, in_memory.input_scale_, rtol=1e-10
    )
    assert streamed.resolved_params_ == in_memory.resolved_params_
    err_s = streamed.reconstruction_error(X).mean()
    err_m = in_memory.reconstruction_error(X).mean()
    assert err_s < 1.5 * err_m + 1e-3
    assert len(streamed.history_) == 4 and "val_loss" in streamed.history_[-1]


def test_methods_take_data_on_disk(fitted, files):
    model = fitted[0]
    X, npy, folder = files
    named = aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=2).fit(folder)
    assert list(named.feature_names_in_) == [f"c{j}" for j in range(10)]
    frame = pd.DataFrame(X, columns=named.feature_names_in_)
    for m, data, same in ((model, npy, X), (named, folder, frame)):
        np.testing.assert_allclose(m.transform(data), m.transform(same), atol=1e-12)
        np.testing.assert_allclose(m.reconstruct(data), m.reconstruct(same), atol=1e-5)
        np.testing.assert_allclose(
            m.reconstruction_error(data), m.reconstruction_error(same), rtol=1e-5
        )


def test_vae_and_detector_on_data_on_disk(files):
    X, npy, folder = files
    vae = aekit.VAE(hidden_dims=(8,), latent_dim=2, max_epochs=2, random_state=0)
    vae.fit(npy)
    np.testing.assert_allclose(vae.score_samples(npy), vae.score_samples(X))
    det = aekit.AnomalyDetector(random_state=0).fit(npy)
    assert det.decision_scores_.shape == (len(X),) and det.n_trimmed_ == 180
    np.testing.assert_allclose(det.decision_function(npy), det.decision_scores_)
    np.testing.assert_array_equal(det.predict(npy), det.labels_)


def bad_files(tmp_path):
    X = low_rank(300, 4)
    other = write_parquet(tmp_path / "other", X, names=["a", "b", "c", "e"])
    (other / "p0.parquet").rename(tmp_path / "odd.parquet")
    mixed = write_parquet(tmp_path / "mixed", X)
    (tmp_path / "odd.parquet").rename(mixed / "p9.parquet")
    text = write_parquet(
        tmp_path / "text", X, n_files=1, extra={"city": np.array(["x"] * 300)}
    )
    X[250, 2] = np.nan
    nan = write_parquet(tmp_path / "nan", X, n_files=1, group=50)
    return mixed, text, nan


def test_bad_files_name_the_file_and_rows_and_leave_no_model(tmp_path):
    mixed, text, nan = bad_files(tmp_path)
    ae = aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=1)
    cases = [
        (mixed, None, r"p9\.parquet has columns .*same columns"),
        (text, None, r"p0\.parquet has non-numeric columns: city"),
        (ds.dataset(text), ["c0", "zz"], r"no column\(s\) \['zz'\]"),
        (nan, None, r"p0\.parquet, rows 250-250 .*missing or infinite"),
    ]
    for source, columns, message in cases:
        with pytest.raises(ValueError, match=message):
            ae.fit(open_table(source, columns) if columns else source)
        assert not hasattr(ae, "module_") and not hasattr(ae, "input_shift_")
    with pytest.raises(ValueError, match="columns= selects Parquet"):
        open_table(tmp_path / "x.npy", columns=["a"])
    with pytest.raises(FileNotFoundError):
        open_table(tmp_path / "missing")


def test_a_slice_of_a_mapped_file_is_an_in_memory_array(files):
    X, npy, _ = files
    mapped = np.load(npy, mmap_mode="r")
    assert is_chunked(mapped) and not is_chunked(mapped[10:50])
    model = aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=1)
    assert model.fit(mapped[10:50]).n_features_in_ == 10
    with pytest.raises(ValueError, match="whole .npy"):
        open_table(mapped[10:50])


def test_big_in_memory_data_gives_the_same_fit_without_a_scaled_copy(monkeypatch):
    X = low_rank(300).astype(np.float32)
    params = dict(hidden_dims=(16,), latent_dim=3, max_epochs=3, random_state=0)
    small = aekit.Autoencoder(**params).fit(X)
    monkeypatch.setattr(sources, "GATHER_BYTES", 0)  # as if X were big
    monkeypatch.setattr("aekit.estimators._tabular.GATHER_BYTES", 0)
    big = aekit.Autoencoder(**params).fit(X)
    assert [h["loss"] for h in big.history_] == [h["loss"] for h in small.history_]
    np.testing.assert_array_equal(big.transform(X), small.transform(X))


def test_big_arrays_are_scored_in_blocks_with_the_same_results(monkeypatch):
    X = low_rank(300)
    ae = aekit.Autoencoder(
        hidden_dims=(16,), latent_dim=3, max_epochs=2, random_state=0
    )
    det = aekit.AnomalyDetector(random_state=0)
    vae = aekit.VAE(hidden_dims=(8,), latent_dim=2, max_epochs=2, random_state=0)
    calls = {
        "transform": lambda: ae.transform(X),
        "reconstruct": lambda: ae.reconstruct(X),
        "error": lambda: ae.reconstruction_error(X),
        "errors_and_codes": lambda: ae.errors_and_codes(X),
        "score": lambda: det.decision_function(X),
        "explain": lambda: det.explain(X),
        "elbo": lambda: vae.score_samples(X),
    }
    ae.fit(X), det.fit(X), vae.fit(X)
    whole = {name: call() for name, call in calls.items()}
    seen = []
    monkeypatch.setattr("aekit.estimators._base.ARRAY_BLOCK", 64)  # as if X were big
    monkeypatch.setattr(ae, "_validate", _spy(ae._validate, seen))
    for name, call in calls.items():
        blocks = call()
        pairs = zip(_parts(whole[name]), _parts(blocks), strict=True)
        for a, b in pairs:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=name)
    assert seen and max(seen) == 64  # the estimator saw blocks, never all 300 rows


def _parts(result):
    return result if isinstance(result, tuple) else (result,)


def _spy(validate, seen):
    def wrapped(X, **kwargs):
        seen.append(len(X))
        return validate(X, **kwargs)

    return wrapped


def test_cli_streams_parquet_in_and_out(tmp_path, files):
    from aekit.cli import main

    folder = files[2]
    model, out = tmp_path / "m", tmp_path / "codes.parquet"
    main(["train", str(folder), "-o", str(model), "--max-epochs", "1", "--drop", "c9"])
    main(["encode", str(model), str(folder), "--drop", "c9", "-o", str(out)])
    codes = pq.read_table(out).to_pandas()
    expected = aekit.load(model).transform(files[0][:, :9])
    np.testing.assert_allclose(codes.to_numpy(), expected, atol=1e-12)
    main(
        [
            "score",
            str(model),
            str(folder),
            "--drop",
            "c9",
            "-o",
            str(tmp_path / "s.csv"),
        ]
    )
    assert (tmp_path / "s.csv").read_text().count("\n") == len(files[0]) + 1


def test_scoring_and_export_of_a_streamed_fit_take_data_on_disk(fitted, files):
    """The base class's inference graph scores data on disk chunk by chunk, with
    the same numbers as in memory; a streamed fit exports like any other."""
    model = fitted[0]
    X, npy, _ = files
    errors, codes = model.errors_and_codes(npy)
    errors_m, codes_m = model.errors_and_codes(X)
    np.testing.assert_allclose(errors, errors_m, rtol=1e-12)
    np.testing.assert_allclose(codes, codes_m, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        errors, model.reconstruction_error(X, scaled=True), rtol=1e-4
    )
    np.testing.assert_allclose(model.column_errors(npy), model.column_errors(X))
    with torch.no_grad():
        graph_codes = model.inference_graph(torch.float64)(torch.from_numpy(X))[0]
    np.testing.assert_allclose(graph_codes.numpy(), codes_m, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_scaled_rows_shard_into_disjoint_blocks(world):
    X = low_rank(10, 2)
    rows = sources.ScaledRows(X, X.mean(0), X.std(0))
    parts = [rows.shard(r, world) for r in range(world)]
    whole = torch.cat([p.take(torch.arange(len(p))) for p in parts])
    np.testing.assert_allclose(whole.numpy(), (X - X.mean(0)) / X.std(0), rtol=1e-6)


def test_mixed_tables_stay_in_memory_and_numeric_files_stream(tmp_path, files):
    """A table with text columns is read whole for the models that take mixed
    tables (the CLI's fallback); numeric files stream; a model refitted on a
    file after a mixed table forgets the table's schema."""
    from aekit.cli._io import read_input

    X = low_rank(300, 4)
    text = write_parquet(
        tmp_path / "text", X, n_files=1, extra={"city": np.array(["x", "y"] * 150)}
    )
    path = str(text / "p0.parquet")
    with pytest.raises(ValueError, match="non-numeric columns: city"):
        read_input(path, [])
    frame = read_input(path, [], tables=True)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns)[-1] == "city"
    assert is_chunked(read_input(str(files[1]), [], tables=True))
    ae = aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=1)
    ae.fit(frame)
    assert ae.schema_ is not None and ae.loss_ == "mixed"
    with pytest.raises(NotImplementedError, match="no inference graph"):
        ae.inference_graph()
    ae.fit(files[1])
    assert getattr(ae, "schema_", None) is None and ae.loss_ != "mixed"
    assert ae.errors_and_codes(files[1])[0].shape == (len(files[0]),)


def test_parquet_with_missing_cells_is_refused_early_and_the_cli_reads_it_whole(
    tmp_path,
):
    """pandas stores NaN as null: the row groups' statistics reveal the holes
    before any row is read. The API refuses to stream them (naming the column);
    `aekit train`, whose models mask missing cells, reads the file in memory."""
    from aekit.cli import main
    from aekit.data.chunks import MissingCells

    frame = pd.DataFrame(low_rank(200, 4), columns=list("abcd"))
    frame.loc[17, "c"] = np.nan
    path = tmp_path / "holes.parquet"
    frame.to_parquet(path)
    with pytest.raises(MissingCells, match=r"holes\.parquet .*column 'c'"):
        open_table(path)
    model = tmp_path / "m"
    assert main(["train", str(path), "-o", str(model), "--max-epochs", "1"]) == 0
    loaded = aekit.load(model)
    assert loaded.n_features_in_ == 4
    assert np.isfinite(loaded.reconstruction_error(frame)).all()
