"""Scale benchmark, parts 2-4 of issue 15 (part 1, out-of-core input, is
bench/scale.py).

Part 2, DDP on CPU: the default Autoencoder on synthetic d=100 float32 data,
trained by 1 process and by 2 gloo processes (torch.multiprocessing, one CPU
thread each) with the same global batch and seed: final training and validation
loss (equal to 1e-5 expected) and seconds per epoch of each.

Part 3, recommenders at scale: a synthetic implicit-feedback matrix of
MovieLens-20M's shape (138,493 users x 26,744 items, about 20,000,263
interactions with power-law item popularity and log-normal user activity, at
least 20 per user; see ``ml20m_like``), written to ``--workdir`` (once; later
runs reuse it). In a child process (see ``multvae_child``): seconds per epoch
of MultVAE at the settings its defaults resolve to on the whole matrix,
extrapolated from a one-epoch fit on ``--sample-batches`` batches of users;
``recommend`` for 5,000 users, extrapolated to all; then the full one-epoch
fit at the defaults, cut at ``--fit-seconds``, and when it ends ``recommend``
for every user; peak RSS (``VmHWM``) after each step. EASE's memory is
computed, not run (see ``ease_bytes``).
Training batches are sparse (`aekit.nn.MultVAENet`), so the epoch's cost is
the decoder's (batch x 600 x 26,744 GEMMs), not users x items.

    nice -n 10 python bench/scale_ddp.py --part 3 --workdir /tmp/aekit-ddp-bench

Part 4 (bf16 autocast on CUDA) needs a GPU; without one it says so.

Part 5 (issue 25), on part 3's matrix, each model in its own process with one
torch thread (see ``recommender_child``): ``EASE()`` at its defaults (refused
above 20,000 items: the message is reported), ``EASE(top_items=20000)`` (fit
seconds, peak RSS, ``recommend`` for 1,000 users), and one epoch of
``MultVAE`` against two of ``RecVAE`` (``early_stopping=False``; RecVAE with
``encoder_epochs=1`` so that its two epochs are one encoder epoch and one
decoder epoch; the default cycle is three of the first and one of the second).
``--users N`` fits on the first N users only.

    nice -n 10 python bench/scale_ddp.py --part 5 --workdir /tmp/aekit-ddp-bench

    nice -n 10 python bench/scale_ddp.py [--part 2 3 4] [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import aekit
from aekit import defaults
from aekit.callbacks import Callback

ML20M = (138_493, 26_744, 20_000_263)  # users, items, interactions


# ----------------------------------------------------------------- part 2: DDP
def ddp_data(rows: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(rows, 10)).astype(np.float32)
    mix = rng.normal(size=(10, 100)).astype(np.float32)
    noise = 0.1 * rng.normal(size=(rows, 100)).astype(np.float32)
    return latent @ mix + noise


# Part 2's runs: name -> (processes, how one process changes its arithmetic).
DDP_RUNS = {
    "1 process": (1, None),
    "2 processes": (2, None),
    "1 process, each batch as two halves": (1, "halves"),
    "1 process, each batch's rows reversed": (1, "reversed"),
}


def ddp_fit(rows: int, epochs: int, optimizer: str, variant: str | None) -> dict:
    """The default Autoencoder, ``epochs`` epochs, global batch 256; returns its
    per-epoch history and flat parameters. ``variant`` (one process only):
    "halves" computes each batch's gradient as two halves weighted and summed
    (the arithmetic of 2 processes in one), "reversed" takes each batch's rows
    in reverse order (the same numbers summed in another order)."""
    from aekit.training import loop

    torch.set_num_threads(1)
    if variant == "halves":
        loop.gradient_step = _in_halves(loop.gradient_step)  # (this process only)
    elif variant == "reversed":
        batches = loop.batches
        loop.batches = lambda *a: (xb.flip(0) for xb in batches(*a))
    ae = aekit.Autoencoder(
        batch_size=256,
        max_epochs=epochs,
        patience=epochs,
        optimizer=optimizer,
        random_state=0,
    )
    last = _LastWeights()
    ae.set_params(callbacks=[last]).fit(ddp_data(rows))
    history = {k: [h[k] for h in ae.history_] for k in ("loss", "val_loss", "seconds")}
    return {**history, "params": last.params}


class _LastWeights(Callback):
    """The flat parameters after the last epoch (early stopping may then put an
    earlier epoch's, or the PCA start's, weights back)."""

    def on_epoch_end(self, module, record):
        flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
        self.params = flat.double().tolist()


def _in_halves(gradient_step):
    """``gradient_step`` whose gradients are those of a batch's two halves, each
    weighted by its share of the batch and summed, as 2 ranks compute them
    (`aekit.training.distributed.DataParallel.reduce_gradients`)."""

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


def ddp_worker(rank: int, world: int, args: tuple, dtype: str, out: Path) -> None:
    if dtype == "float64":  # module, data and loss sums in float64
        _in_float64()
    store = f"file://{out / 'store'}"
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world)
    try:
        result = ddp_fit(*args)
    finally:
        dist.destroy_process_group()
    (out / f"rank{rank}.json").write_text(json.dumps(result))


def _in_float64() -> None:
    """Run this process's fit in float64: torch's default dtype (the module's
    parameters, the loss sums) and the scaled training rows (aekit hands float32
    rows to the module; here they stay float64)."""
    from aekit.estimators import _tabular

    torch.set_default_dtype(torch.float64)
    _tabular.scale_rows = lambda X, shift, scale: (X - shift) / scale


def part_ddp(rows: int, epochs: int, optimizer: str, dtype: str = "float32") -> None:
    print(
        f"## part 2: DDP on CPU, {rows} x 100 rows, global batch 256, {optimizer}, "
        f"{dtype}"
    )
    results = {}
    for name, (world, variant) in DDP_RUNS.items():
        out = Path(tempfile.mkdtemp())
        args = ((rows, epochs, optimizer, variant), dtype, out)
        mp.spawn(ddp_worker, args=(world, *args), nprocs=world)
        results[name] = r = json.loads((out / "rank0.json").read_text())
        print(f"{name}, per epoch:")
        for key, fmt in (("loss", ".9f"), ("val_loss", ".9f"), ("seconds", ".2f")):
            print(f"  {key}: " + ", ".join(f"{x:{fmt}}" for x in r[key]))
    base = results["1 process"]
    for name, r in list(results.items())[1:]:
        print(f"{name} against 1 process:")
        for key in ("loss", "val_loss"):
            diff = np.abs(np.subtract(base[key], r[key]))
            print(f"  |{key} difference| per epoch: {_e(diff)} (target 1e-5)")
        gap = np.abs(np.subtract(base["params"], r["params"])).max()
        print(f"  largest parameter difference: {gap:.2e}")
    two, halves = results["2 processes"], results[list(DDP_RUNS)[2]]
    gap = np.abs(np.subtract(two["params"], halves["params"])).max()
    print(f"2 processes against one process in halves: parameters {gap:.2e} apart")


def _e(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.1e}" for v in values) + "]"


# --------------------------------------------------- part 3: ML-20M-shaped data
def ml20m_like(path: Path, seed: int = 0) -> sp.csr_matrix:
    """The synthetic ML-20M-shaped matrix (cached in ``path``): each user's
    number of interactions is 20 plus a log-normal share of the rest; the items
    are drawn by Zipf popularity (exponent 1, the item labels shuffled), 1.6
    draws per interaction, and each user keeps a random subset of its distinct
    items of that size."""
    if path.exists():
        return sp.load_npz(path).tocsr()
    n_users, n_items, n_inter = ML20M
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    counts = 20 + np.floor(activity / activity.sum() * (n_inter - 20 * n_users))
    counts[: n_inter - int(counts.sum())] += 1  # exactly n_inter in all
    counts = np.minimum(counts.astype(np.int64), n_items)
    draws = np.ceil(1.6 * counts).astype(np.int64)
    popularity = 1.0 / np.arange(1, n_items + 1)
    items = rng.choice(n_items, size=int(draws.sum()), p=popularity / popularity.sum())
    pairs = np.unique(np.repeat(np.arange(n_users), draws) * n_items + items)
    users = pairs // n_items
    order = np.lexsort((rng.random(len(pairs)), users))  # random within a user
    first = np.searchsorted(users[order], np.arange(n_users))
    keep = order[np.arange(len(order)) - first[users[order]] < counts[users[order]]]
    labels = rng.permutation(n_items)
    M = sp.csr_matrix(
        (np.ones(len(keep), np.float32), (users[keep], labels[pairs[keep] % n_items])),
        shape=(n_users, n_items),
    )
    sp.save_npz(path, M)
    return M


def peak_rss_gb() -> float:
    """This process's peak resident memory in GiB: ``VmHWM``, which starts afresh
    at ``exec`` (``ru_maxrss`` keeps the forking parent's peak: 2.1 GiB "at load"
    in a child whose parent had just built the matrix)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB -> GiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def report(**values: object) -> None:
    print(json.dumps(values, default=str), flush=True)


def multvae_child(path: str, fit_seconds: float, sample_batches: int) -> None:
    """Run in a fresh process, reporting as it goes: (1) seconds per epoch,
    extrapolated from a one-epoch fit on the first ``sample_batches`` batches of
    users with the settings the full fit resolves to (Liang et al.'s 600-200
    network, dropout 0.5, batches of 256: a subset this small would resolve to
    other "auto" values), all 26,744 items wide; (2) ``recommend`` (top 100,
    histories folded in, scored in chunks) for the first 5,000 users, its time
    extrapolated to all users; (3) the full fit at the defaults (one epoch
    with the held-out-user pass) in a thread, peak RSS polled until it ends or
    ``fit_seconds`` pass (then the process exits); (4) when it ended,
    ``recommend`` (top 100) for every user with it."""
    M = sp.load_npz(path).tocsr()
    report(nnz=int(M.nnz), rss_loaded_gb=peak_rss_gb())
    n_train = M.shape[0] - int(np.ceil(0.1 * M.shape[0]))
    hidden, latent = defaults.mult_shape_rule(n_train, M.shape[1])
    resolved = {
        "hidden_dims": hidden,
        "latent_dim": latent,
        "dropout": defaults.mult_dropout_rule(n_train),
        "batch_size": defaults.batch_size_rule(n_train),
    }
    sub = M[: sample_batches * resolved["batch_size"]]
    vae = aekit.MultVAE(
        **resolved, max_epochs=1, early_stopping=False, random_state=0, device="cpu"
    ).fit(sub)
    seconds = vae.history_[0]["seconds"]
    report(
        resolved=resolved,
        sample_users=sub.shape[0],
        sample_seconds=seconds,
        epoch_seconds_extrapolated=seconds / sub.shape[0] * n_train,
    )
    start = time.perf_counter()
    top = vae.recommend(M[:5000], k=100)
    seconds = time.perf_counter() - start
    report(
        recommend_5000_seconds=seconds,
        recommend_all_seconds_extrapolated=seconds / 5000 * M.shape[0],
        recommend_shape=list(top.items.shape),
        rss_after_recommend_gb=peak_rss_gb(),
    )
    del vae, top
    fitted: list[aekit.MultVAE] = []
    worker = threading.Thread(
        target=lambda: fitted.append(
            aekit.MultVAE(max_epochs=1, random_state=0, device="cpu").fit(M)
        ),
        daemon=True,
    )
    start = time.perf_counter()
    worker.start()
    worker.join(fit_seconds)
    report(
        full_fit_finished=bool(fitted),
        full_fit_seconds=time.perf_counter() - start,
        rss_during_full_fit_gb=peak_rss_gb(),
        **({"epoch_seconds": fitted[0].history_[0]["seconds"]} if fitted else {}),
    )
    if fitted:  # (4) recommend for every user with the fitted model
        start = time.perf_counter()
        top = fitted[0].recommend(M, k=100)
        report(
            recommend_all_seconds=time.perf_counter() - start,
            recommend_all_shape=list(top.items.shape),
            rss_after_recommend_all_gb=peak_rss_gb(),
        )
    os._exit(0)  # a fit still running in the thread is abandoned


def ease_bytes(n_items: int) -> dict:
    """EASE's dense memory at ``n_items`` (float64, as bench/recsys_topk.py):
    the Gram matrix G, the copy LAPACK factorises inside ``np.linalg.inv``, the
    inverse P and the weights B = -P / diag(P) are each n_items^2 doubles."""
    one = n_items**2 * 8
    return {"one_matrix_gb": one / 2**30, "peak_gb": 4 * one / 2**30}


def part_multvae(workdir: Path, fit_seconds: float, sample_batches: int) -> None:
    n_users, n_items, n_inter = ML20M
    print(f"## part 3: ML-20M-shaped MultVAE ({n_users} x {n_items}, {n_inter})")
    path = workdir / "ml20m_like.npz"
    start = time.perf_counter()
    M = ml20m_like(path)
    print(f"matrix: nnz {M.nnz}, written in {time.perf_counter() - start:.0f}s")
    dense_gb = n_users * n_items * 4 / 2**30
    print(f"(a dense float32 user x item matrix would be {dense_gb:.1f} GiB)")
    del M
    code = "import sys, bench.scale_ddp as b; b.multvae_child(sys.argv[1], %s, %d)"
    sys.stdout.flush()
    command = [sys.executable, "-c", code % (fit_seconds, sample_batches), str(path)]
    subprocess.run(command, check=True)
    ease = ease_bytes(n_items)
    print(
        f"EASE (not run): one {n_items}^2 float64 matrix is "
        f"{ease['one_matrix_gb']:.2f} GiB; G, inv's working copy, P and B peak at "
        f"about {ease['peak_gb']:.1f} GiB"
    )


# ------------------------------ part 5: EASE and RecVAE on the ML-20M shape
# Part 5's models, each fitted in its own process: name -> (class, parameters).
_ONE_RUN = {"early_stopping": False, "random_state": 0, "device": "cpu"}
PART5_MODELS: dict[str, tuple[str, dict]] = {
    "ease_default": ("EASE", {"device": "cpu"}),
    "ease_top20000": ("EASE", {"top_items": 20000, "device": "cpu"}),
    "multvae": ("MultVAE", {"max_epochs": 1, **_ONE_RUN}),
    "recvae": ("RecVAE", {"max_epochs": 2, "encoder_epochs": 1, **_ONE_RUN}),
}


def recommender_child(path: str, name: str, users: int) -> None:
    """Run in a fresh process (one torch thread): fit ``PART5_MODELS[name]`` on
    the first ``users`` rows of the matrix (0: all), reporting the fit's
    seconds, its CPU seconds (with one thread, the compute time even when the
    process is paused by others' work) and peak RSS (or the refusal's
    message), then ``recommend`` (top 100) for the first 1,000 users."""
    torch.set_num_threads(1)
    M = sp.load_npz(path).tocsr()
    if users:
        M = M[:users]
    report(model=name, shape=list(M.shape), nnz=int(M.nnz), rss_loaded_gb=peak_rss_gb())
    cls, params = PART5_MODELS[name]
    model = getattr(aekit, cls)(**params)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        model.fit(M)
    except ValueError as exc:
        report(refused=str(exc), seconds=time.perf_counter() - start)
        report(rss_peak_gb=peak_rss_gb())
        return
    report(
        fit_seconds=time.perf_counter() - start,
        fit_cpu_seconds=time.process_time() - cpu_start,
        epoch_seconds=[record["seconds"] for record in model.history_],
        resolved=getattr(model, "resolved_params_", None),
        rss_after_fit_gb=peak_rss_gb(),
    )
    start = time.perf_counter()
    top = model.recommend(M[:1000], k=100)
    report(
        recommend_1000_seconds=time.perf_counter() - start,
        recommend_shape=list(top.items.shape),
        rss_peak_gb=peak_rss_gb(),
    )


def part_recommenders(workdir: Path, names: list[str], users: int) -> None:
    n_users, n_items, n_inter = ML20M
    print(f"## part 5: EASE and RecVAE, ML-20M-shaped ({n_users} x {n_items})")
    path = workdir / "ml20m_like.npz"
    ml20m_like(path)  # built once, cached
    code = "import sys, bench.scale_ddp as b; b.recommender_child(*sys.argv[1:3], %d)"
    for name in names:
        sys.stdout.flush()
        command = [sys.executable, "-c", code % users, str(path), name]
        subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


# ------------------------------------------------------------ part 4: the GPU
def part_gpu() -> None:
    print("## part 4: bf16 autocast on CUDA")
    if not torch.cuda.is_available():
        print("no CUDA device on this machine: part 4 was not run")
        return
    print("CUDA is available but this script has no GPU measurement yet")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--optimizer", default="adam", help="part 2's optimizer")
    parser.add_argument(
        "--dtype", default="float32", choices=["float32", "float64"], help="part 2's"
    )
    parser.add_argument(
        "--fit-seconds", type=float, default=3600, help="part 3's full fit, at most"
    )
    parser.add_argument(
        "--sample-batches",
        type=int,
        default=40,
        help="part 3: batches of users in the short fit that times a step",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(PART5_MODELS),
        choices=list(PART5_MODELS),
        help="part 5's models, each in its own process, in this order",
    )
    parser.add_argument(
        "--users", type=int, default=0, help="part 5: the first N users (0: all)"
    )
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if 2 in args.part:
        part_ddp(args.rows, args.epochs, args.optimizer, args.dtype)
    if 3 in args.part:
        part_multvae(Path(args.workdir), args.fit_seconds, args.sample_batches)
    if 4 in args.part:
        part_gpu()
    if 5 in args.part:
        part_recommenders(Path(args.workdir), args.models, args.users)


if __name__ == "__main__":
    main()
