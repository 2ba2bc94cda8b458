"""Training speed, in four sections, every figure from one command:

throughput  per-epoch samples/s of a 100-64-32-64-100 ReLU autoencoder on synthetic
            n=20000, d=100 data. First what a user runs: ``Autoencoder((64,), 32)``
            with only the batch size and epochs set (the PCA path, early stopping
            on a 10% validation split, "auto" scaling), and the same with
            ``pca_path=False``; then pinned like-for-like rows: aekit's plain
            network (no PCA path, no early stopping), scikit-learn's MLPRegressor
            on (X, X), PyOD's AutoEncoder at its defaults (batch norm, dropout
            0.2) and a plain PyTorch DataLoader loop. Each is fitted for E1 and E2
            epochs and samples/s = n (E2 - E1) / (t(E2) - t(E1)), median of
            --repeats.
pyod        aekit ``Autoencoder((64,), 32, batch_norm=True, dropout=0.2)`` at the
            defaults otherwise (first), and pinned like for like (no PCA path, no
            early stopping), vs PyOD's default AutoEncoder (batch norm, dropout
            0.2), the same layer sizes and data, whole ``fit`` of 5 epochs, the
            runs alternating (ABAB...), median of --repeats.
mnist       utilisation of the deep MNIST network 784-1000-500-250-30 (plain, BCE,
            batch 256, 60k images), aekit and a lean torch loop: seconds an epoch,
            GFLOP/s of its matrix products (forward and backward) and their share
            of the rate of the same products timed alone (``torch.mm`` of the same
            shapes) in the same run.
denormals   the same fit with denormal floats flushed to zero (aekit's default) and
            kept (``aekit.training.keep_denormals``), alternating, median of
            --repeats: ConvAutoencoder(noise=0.4) and dense models at their defaults
            on --denormal-images MNIST images for --denormal-epochs epochs (2),
            every epoch run (no early stopping); --only selects models too.

    python bench/train_speed.py [--sections throughput pyod mnist denormals]
        [--repeats 3] [--batch-sizes 32 256] [--threads N] [MNIST_FOLDER]

Output is Markdown, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.data import load_mnist
from aekit.training import keep_denormals

ROOT = Path(__file__).resolve().parents[1]
N, D = 20000, 100
SIZES = (100, 64, 32, 64, 100)
E1, E2 = 1, 4
PYOD_EPOCHS = 5
MNIST_SIZES = (784, 1000, 500, 250, 30, 250, 500, 1000, 784)


def train_default(X, bs, epochs, **extra):
    """What a user runs: only the sizes, the batch size and the epochs set."""
    return aekit.Autoencoder(
        (64,), 32, batch_size=bs, max_epochs=epochs, random_state=0, **extra
    ).fit(X)


def train_default_no_pca(X, bs, epochs):
    return train_default(X, bs, epochs, pca_path=False)


def train_aekit(X, bs, epochs, **extra):
    return aekit.Autoencoder(
        (64,),
        32,
        batch_size=bs,
        max_epochs=epochs,
        early_stopping=False,
        pca_path=False,  # like for like: a plain network on both sides
        scaling="standard",
        random_state=0,
        device="cpu",
        **extra,
    ).fit(X)


def train_mlp(X, bs, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(
            hidden_layer_sizes=(64, 32, 64),
            batch_size=bs,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=10**6,
            random_state=0,
        ).fit(X, X)


def train_pyod(X, bs, epochs):
    """PyOD's AutoEncoder at its defaults: Linear -> BatchNorm -> ReLU -> Dropout(0.2)
    blocks 100-64-32-64, then a Linear to 100; standardised input."""
    from pyod.models.auto_encoder import AutoEncoder

    AutoEncoder(
        hidden_neuron_list=[64, 32],
        batch_size=bs,
        epoch_num=epochs,
        verbose=0,
        device="cpu",
    ).fit(X)


def train_dataloader(X, bs, epochs):
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    layers = [nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 32)]
    layers += [nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 100)]
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(torch.from_numpy(X)), batch_size=bs, shuffle=True)
    for _ in range(epochs):
        for (xb,) in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), xb)
            loss.backward()
            opt.step()


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def alternating(runs: dict[str, Callable[[], object]], repeats: int) -> dict:
    """Median seconds of each run after an untimed warm-up of each, the runs
    taking turns (ABAB...) so that a change in the machine's load hits all of
    them alike."""
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(seconds(run))
    return {name: statistics.median(t) for name, t in times.items()}


def per_epoch_throughput(train, X, bs, repeats):
    rates = []
    for _ in range(repeats):
        t1, t2 = (seconds(lambda e=e: train(X, bs, e)) for e in (E1, E2))
        rates.append(N * (E2 - E1) / (t2 - t1))
    return statistics.median(rates)


def matmul_rate(shapes: list[tuple[int, int, int]], repeats: int = 5) -> float:
    """FLOP/s of ``torch.mm`` over the (m, k, n) products ``shapes``, best of
    ``repeats`` timings after a warm-up."""
    pairs = [(torch.rand(m, k), torch.rand(k, n)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def products() -> None:
        for a, b in pairs:
            torch.mm(a, b)

    products()
    best = min(seconds(products) for _ in range(repeats))
    return flops / best


def section_throughput(X, args) -> None:
    macs = sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:], strict=True))
    flops_per_sample = 6 * macs  # forward 2*MACs, backward about twice that
    peak = matmul_rate([(2048, 2048, 2048)])
    trainers = {
        "aekit Autoencoder((64,), 32), defaults": train_default,
        "aekit Autoencoder((64,), 32), defaults, pca_path=False": (
            train_default_no_pca
        ),
        "pinned: aekit, plain network": train_aekit,
        "MLPRegressor": train_mlp,
        "PyOD AutoEncoder (batch norm, dropout 0.2)": train_pyod,
        "torch DataLoader loop, plain": train_dataloader,
    }
    if args.only:
        trainers = {
            k: v for k, v in trainers.items() if any(k.startswith(o) for o in args.only)
        }
    print(f"\n### Per-epoch throughput (float32 matmul {peak / 1e9:.1f} GFLOP/s)\n")
    print("| trainer | batch | samples/s | utilisation |")
    print("|---|---:|---:|---:|")
    for bs in args.batch_sizes:
        for name, train in trainers.items():
            rate = per_epoch_throughput(train, X, bs, args.repeats)
            util = flops_per_sample * rate / peak
            print(f"| {name} | {bs} | {rate:,.0f} | {100 * util:.1f}% |", flush=True)


def section_pyod(X, args) -> None:
    print(f"\n### Like for like against PyOD: whole fit, {PYOD_EPOCHS} epochs\n")
    print("aekit `Autoencoder((64,), 32, batch_norm=True, dropout=0.2)` and PyOD's")
    print("default AutoEncoder (batch norm, dropout 0.2), layers 100-64-32-64-100,")
    print(f"n={N}, median of {args.repeats}, alternating.\n")
    print("First row of each batch: aekit at its defaults otherwise (PCA path,")
    print("early stopping on a 10% split); second: pinned (no PCA path, no early")
    print("stopping, standard scaling).\n")
    print("| batch | aekit | aekit s | PyOD s | aekit speed-up |")
    print("|---:|---|---:|---:|---:|")
    for bs in args.batch_sizes:
        med = alternating(
            {
                "defaults": lambda bs=bs: train_default(
                    X, bs, PYOD_EPOCHS, batch_norm=True, dropout=0.2
                ),
                "pinned": lambda bs=bs: train_aekit(
                    X, bs, PYOD_EPOCHS, batch_norm=True, dropout=0.2
                ),
                "pyod": lambda bs=bs: train_pyod(X, bs, PYOD_EPOCHS),
            },
            args.repeats,
        )
        for name in ("defaults", "pinned"):
            ratio = med["pyod"] / med[name]
            print(
                f"| {bs} | {name} | {med[name]:.2f} | {med['pyod']:.2f} | "
                f"{ratio:.2f}x |"
            )


def mnist_step_shapes(batch: int) -> list[tuple[int, int, int]]:
    """The (m, k, n) matrix products of one training step of the MNIST network:
    forward, the weight gradients and the input gradients (not the first layer's)."""
    shapes = []
    for i, (n_in, n_out) in enumerate(pairwise(MNIST_SIZES)):
        shapes += [(batch, n_in, n_out), (n_out, batch, n_in)]
        if i > 0:
            shapes.append((batch, n_out, n_in))
    return shapes


def mnist_aekit(X: np.ndarray, epochs: int) -> float:
    """Median seconds an epoch of aekit on the deep MNIST network."""
    model = aekit.Autoencoder(
        MNIST_SIZES[1:4],
        MNIST_SIZES[4],
        loss="bce",
        batch_size=256,
        max_epochs=epochs,
        early_stopping=False,
        pca_path=False,
        scaling=None,
        random_state=0,
        device="cpu",
    ).fit(X)
    return statistics.median(h["seconds"] for h in model.history_)


def mnist_lean_loop(X: np.ndarray, epochs: int) -> float:
    """Median seconds an epoch of a lean torch loop on the same network:
    nn.Sequential, fused Adam, BCE on logits, random batches of one tensor."""
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(MNIST_SIZES)):
        layers.append(nn.Linear(n_in, n_out))
        if i not in (3, len(MNIST_SIZES) - 2):  # no activation on codes, output
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), fused=True)
    data = torch.from_numpy(X)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for idx in torch.randperm(len(data)).split(256):
            xb = data[idx]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def section_mnist(images, args) -> None:
    X = images.reshape(len(images), -1)
    shapes = mnist_step_shapes(256)
    flops = sum(2 * m * k * n for m, k, n in shapes) / 256 * len(X)
    rates = [matmul_rate(shapes)]
    per_epoch = {}
    for name, train in (("aekit", mnist_aekit), ("lean torch loop", mnist_lean_loop)):
        per_epoch[name] = train(X, args.mnist_epochs)
        rates.append(matmul_rate(shapes))
    reference = statistics.median(rates)
    print(
        "\n### Utilisation, deep MNIST network 784-1000-500-250-30 (BCE, batch 256)\n"
    )
    print("| trainer | images | s/epoch | GFLOP/s | utilisation |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds_ in per_epoch.items():
        achieved = flops / seconds_
        print(
            f"| {name} | {len(X)} | {seconds_:.2f} | {achieved / 1e9:.1f} | "
            f"{100 * achieved / reference:.1f}% |"
        )
    listed = "/".join(f"{r / 1e9:.1f}" for r in rates)
    print(
        "\nUtilisation = GFLOP/s of the step's matrix products over "
        f"{reference / 1e9:.1f} GFLOP/s, the median rate of `torch.mm` on the "
        f"same shapes timed alone before, between and after the fits ({listed})."
    )


def section_denormals(images, args) -> None:
    images = images[: args.denormal_images]
    flat = images.reshape(len(images), -1)
    epochs = args.denormal_epochs
    # every epoch runs: the same work with and without flushing
    common = dict(max_epochs=epochs, early_stopping=False, random_state=0, device="cpu")
    models: dict[str, tuple[Callable[[], object], np.ndarray]] = {
        "ConvAutoencoder(noise=0.4)": (
            lambda: aekit.ConvAutoencoder(noise=0.4, **common),
            images,
        ),
        "Autoencoder()": (lambda: aekit.Autoencoder(**common), flat),
        "Autoencoder(noise=0.4)": (
            lambda: aekit.Autoencoder(noise=0.4, **common),
            flat,
        ),
        "Autoencoder(batch_norm, dropout 0.2)": (
            lambda: aekit.Autoencoder(batch_norm=True, dropout=0.2, **common),
            flat,
        ),
        "VAE()": (lambda: aekit.VAE(**common), flat),
    }
    if args.only:
        models = {k: v for k, v in models.items() if k.startswith(tuple(args.only))}
    print(
        f"\n### Denormals flushed vs kept: {len(images)} MNIST images, "
        f"{epochs} epochs\n"
    )
    print("| model | flushed s | kept s | kept / flushed |")
    print("|---|---:|---:|---:|")
    for name, (make, data) in models.items():

        def kept(make=make, data=data):
            with keep_denormals():
                make().fit(data)

        med = alternating(
            {"flushed": lambda make=make, data=data: make().fit(data), "kept": kept},
            args.repeats,
        )
        ratio = med["kept"] / med["flushed"]
        print(f"| {name} | {med['flushed']:.2f} | {med['kept']:.2f} | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist", nargs="?", default=ROOT.parent / "shared/data/mnist")
    sections = ["throughput", "pyod", "mnist", "denormals"]
    parser.add_argument("--sections", nargs="+", choices=sections, default=sections)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--only", nargs="*", default=None, help="row prefixes")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--mnist-epochs", type=int, default=3)
    parser.add_argument("--mnist-images", type=int, default=60000)
    parser.add_argument("--denormal-images", type=int, default=3000)
    parser.add_argument("--denormal-epochs", type=int, default=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    X = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    if "throughput" in args.sections:
        section_throughput(X, args)
    if "pyod" in args.sections:
        section_pyod(X, args)
    if {"mnist", "denormals"} & set(args.sections):
        images, _ = load_mnist(args.mnist, "train")
        if "mnist" in args.sections:
            section_mnist(images[: args.mnist_images], args)
        if "denormals" in args.sections:
            section_denormals(images, args)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
