"""Streamed tables (.npy, Parquet) under data-parallel training: 2 gloo processes
(torch.multiprocessing) each read their block of rows, agree on the scaling,
train one model (identical weights on both ranks) and rank 0 saves it; the
blocks are disjoint and cover the table; unequal blocks take equal steps.

Also where 1 and 2 processes part with Adam: in float64 they agree to 1e-12,
and in float32 2 processes compute bit for bit what one process computes when
it takes each batch's gradient as two halves, weighted and summed (so what
separates them is float32 rounding of a differently ordered sum)."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import aekit
from aekit.data.chunks import open_table
from aekit.nn import DenseAutoencoder, DenseConfig
from aekit.training import TrainConfig, fit_module, loop
from aekit.training.distributed import stream_plan
from aekit.training.streaming import StreamSource, held_out

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

N_ROWS, N_FEATURES = 600, 10
FILES = {"npy": "x.npy", "parquet": "pq"}


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, 3)) @ rng.normal(size=(3, N_FEATURES))
    return X + 0.05 * rng.normal(size=X.shape) + np.arange(N_FEATURES)


def _write(folder: Path) -> dict[str, Path]:
    """The data as one .npy and as 3 Parquet files of 70-row row groups (the
    block edge at row 300 falls inside a row group), and a 3-row .npy."""
    X = _data()
    np.save(folder / "x.npy", X)
    np.save(folder / "tiny.npy", X[:3])
    (folder / "pq").mkdir()
    for i, part in enumerate(np.array_split(X, 3)):
        columns = {f"c{j}": part[:, j] for j in range(N_FEATURES)}
        pq.write_table(pa.table(columns), folder / "pq" / f"p{i}.parquet", 70)
    return {kind: folder / name for kind, name in FILES.items()}


def _estimator(**params) -> aekit.Autoencoder:
    base = dict(hidden_dims=(16,), latent_dim=3, batch_size=32, pca_path=False)
    return aekit.Autoencoder(**{**base, "max_epochs": 6, "random_state": 0, **params})


def _flat(model: aekit.Autoencoder) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.module_.parameters()])


def _scenarios(out: Path, rank: int) -> None:
    """Fits on each file, written to ``out/rank{rank}.npz`` (rank -1: alone)."""
    results: dict[str, np.ndarray] = {}
    for kind in ("npy", "parquet"):
        model = _estimator().fit(out / FILES[kind])
        model.save(out / f"model-{kind}{rank}")
        results[f"{kind}_params"] = _flat(model).numpy()
        results[f"{kind}_loss"] = np.array([h["loss"] for h in model.history_])
        results[f"{kind}_val"] = np.array([h["val_loss"] for h in model.history_])
        results[f"{kind}_scaling"] = np.stack([model.input_shift_, model.input_scale_])
        results[f"{kind}_codes"] = model.transform(out / FILES[kind])
    results["adam64"] = _adam_fit(torch.float64)
    results["adam32"] = _adam_fit(torch.float32, halves=rank < 0)
    try:
        _estimator(early_stopping=False).fit(out / "tiny.npy")
        results["tiny"] = np.array("no error")
    except ValueError as exc:
        results["tiny"] = np.array(str(exc))
    np.savez(out / f"rank{rank}.npz", **results)


def _adam_fit(dtype: torch.dtype, halves: bool = False) -> np.ndarray:
    """A DenseAutoencoder's parameters after 5 epochs of Adam (101 rows, batch
    32) in ``dtype``; with ``halves``, each batch's gradient is taken as 2 ranks
    take it: its two halves' gradients weighted by their shares and summed."""
    torch.manual_seed(0)
    module = DenseAutoencoder(DenseConfig(N_FEATURES, (16,), 4)).to(dtype)
    config = TrainConfig(batch_size=32, max_epochs=5, early_stopping=False)
    data = torch.from_numpy(_data()[:101]).to(dtype)
    make_step, threads = loop.gradient_step, torch.get_num_threads()
    if halves:
        loop.gradient_step = _in_halves(make_step)
    try:
        torch.set_num_threads(1)  # (as the ranks: the same BLAS blocking)
        fit_module(module, data, config, generator=torch.Generator().manual_seed(0))
    finally:
        loop.gradient_step = make_step
        torch.set_num_threads(threads)
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()]).numpy()


def _in_halves(gradient_step):
    def make(module, config, flat, params):
        gradients, hand_written = gradient_step(module, config, flat, params)

        def step(xb):
            n, half = len(xb), len(xb) // 2
            first = gradients(xb[:half])
            saved = [p.grad.clone().mul_(half / n) for p in params]
            second = gradients(xb[half:])
            for p, g in zip(params, saved, strict=True):
                p.grad.mul_((n - half) / n).add_(g)
            return (first * half + second * (n - half)) / n

        return step, hand_written

    return make


def _worker(rank: int, out: Path) -> None:
    torch.set_num_threads(1)
    store = f"file://{out / 'store'}"
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=2)
    try:
        _scenarios(out, rank)
        dist.barrier()  # no rank tears the group down while another still uses it
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp-stream")
    _write(out)
    try:
        mp.spawn(_worker, args=(out,), nprocs=2)
    except mp.ProcessExitedException:
        # as in tests/test_distributed.py: a rank may abort in gloo's teardown
        # after writing its results; accept the run only if they are all there
        if not all((out / f"rank{r}.npz").exists() for r in (0, 1)):
            raise
    _scenarios(out, -1)
    load = {r: dict(np.load(out / f"rank{r}.npz")) for r in (-1, 0, 1)}
    return out, load


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_two_processes_train_one_model_on_a_streamed_table(runs, kind):
    _, results = runs
    alone, r0, r1 = (results[r] for r in (-1, 0, 1))
    # the ranks end with the same weights and the same (all-reduced) history
    np.testing.assert_array_equal(r0[f"{kind}_params"], r1[f"{kind}_params"])
    np.testing.assert_array_equal(r0[f"{kind}_loss"], r1[f"{kind}_loss"])
    # the scaling from the merged statistics of the two blocks is what one
    # process computes from the whole table
    np.testing.assert_allclose(r0[f"{kind}_scaling"], alone[f"{kind}_scaling"], 1e-12)
    np.testing.assert_array_equal(r0[f"{kind}_scaling"], r1[f"{kind}_scaling"])
    loss, val = r0[f"{kind}_loss"], r0[f"{kind}_val"]
    assert loss[-1] < 0.7 * loss[0] and val[-1] < 0.7 * val[0]  # it trains
    # as well as one process does (not the same rows per step, so not equal)
    assert val.min() < 1.5 * alone[f"{kind}_val"].min()


@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_rank_0_saves_a_model_that_loads(runs, kind):
    out, results = runs
    assert (out / f"model-{kind}0").is_dir()
    assert not (out / f"model-{kind}1").exists()
    loaded = aekit.load(out / f"model-{kind}0")
    codes = loaded.transform(out / FILES[kind])
    np.testing.assert_allclose(codes, results[0][f"{kind}_codes"], rtol=1e-6)


def test_too_few_rows_for_the_ranks_is_an_error_on_every_rank(runs):
    _, results = runs
    for rank in (0, 1):
        message = str(results[rank]["tiny"])
        assert "too few rows for 2 processes" in message, message
        assert "[1, 2] training" in message
    assert str(results[-1]["tiny"]) == "no error"


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["npy", "parquet"])
def test_blocks_of_rows_are_disjoint_cover_the_table_and_cut_pieces(
    tmp_path, kind, world
):
    path = _write(tmp_path)[kind]
    table = open_table(path, chunk_rows=64)
    X = _data()
    blocks = [table.shard(rank, world) for rank in range(world)]
    rows = [np.concatenate([i for i, _ in b.chunks()]) for b in blocks]
    np.testing.assert_array_equal(np.concatenate(rows), np.arange(N_ROWS))
    assert max(map(len, rows)) - min(map(len, rows)) <= 1  # balanced
    for block, index in zip(blocks, rows, strict=True):
        np.testing.assert_allclose(np.concatenate(list(block.blocks())), X[index])
    # a table restricted to some rows shards those rows
    keep = np.arange(N_ROWS) % 3 != 0
    kept = [table.subset(keep).shard(rank, world) for rank in range(world)]
    seen = np.concatenate([i for part in kept for i, _ in part.chunks()])
    np.testing.assert_array_equal(seen, np.flatnonzero(keep))


def test_a_rank_trains_on_its_block_and_the_same_validation_rows(tmp_path):
    table = open_table(_write(tmp_path)["npy"])
    source = StreamSource(table, np.zeros(N_FEATURES), np.ones(N_FEATURES))
    train, val = source.split_rows(0.2, torch.Generator().manual_seed(0))
    seed = train.split[1]
    parts = [train.shard(r, 2) for r in range(2)]
    read = np.concatenate([b.numpy() for p in parts for b in p.batches(1000)])
    expected = _data()[~held_out(np.arange(N_ROWS), 0.2, seed)]
    np.testing.assert_allclose(read, expected, rtol=1e-6)
    assert sum(len(val.shard(r, 2)) for r in range(2)) == len(val)


@pytest.mark.parametrize(
    "counts, batch", [([270, 262], 32), ([10, 3], 4), ([5, 5, 6], 100), ([2, 9], 2)]
)
def test_unequal_blocks_take_equal_steps_and_use_every_row(counts, batch):
    plans = [stream_plan(counts, batch, rank) for rank in range(len(counts))]
    steps = {len(sizes) for sizes, _ in plans}
    assert len(steps) == 1  # the same number of steps on every rank
    for (sizes, _), n in zip(plans, counts, strict=True):
        assert sum(sizes) == n and min(sizes) >= 2  # every row once, 2 a step
        assert max(sizes) - min(sizes) <= 1
    for step in range(steps.pop()):
        assert sum(shares[step] for _, shares in plans) == pytest.approx(1.0)
    total = sum(counts)
    assert len(plans[0][0]) == min(-(-total // batch), min(counts) // 2)


def test_adam_under_two_processes_in_float64_is_one_process_to_1e_12(runs):
    _, results = runs
    alone, r0, r1 = (results[r]["adam64"] for r in (-1, 0, 1))
    np.testing.assert_array_equal(r0, r1)
    np.testing.assert_allclose(r0, alone, rtol=0, atol=1e-12)


def test_two_processes_in_float32_sum_what_one_does_in_halves(runs):
    _, results = runs
    np.testing.assert_array_equal(results[0]["adam32"], results[-1]["adam32"])
