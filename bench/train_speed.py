"""Training throughput of a 100-64-32-64-100 ReLU autoencoder, Adam, on synthetic
n=20000, d=100 data: aekit vs scikit-learn's MLPRegressor fitted on (X, X), PyOD's
AutoEncoder (its defaults: batch norm, dropout 0.2) and a plain PyTorch DataLoader
loop, all measured in one run.

Throughput is per-epoch work only: each trainer is fitted for E1 and E2 epochs and
samples/s = n (E2 - E1) / (t(E2) - t(E1)), which removes fixed costs (set-up,
final scoring) from every side alike. Medians over --repeats.

    python bench/train_speed.py [--repeats 3] [--batch-sizes 32 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
import torch

import aekit

N, D = 20000, 100
SIZES = (100, 64, 32, 64, 100)
E1, E2 = 1, 4


def train_aekit(X, bs, epochs, **extra):
    aekit.Autoencoder(
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


def per_epoch_throughput(train, X, bs, repeats):
    rates = []
    for _ in range(repeats):
        times = {}
        for epochs in (E1, E2):
            start = time.perf_counter()
            train(X, bs, epochs)
            times[epochs] = time.perf_counter() - start
        rates.append(N * (E2 - E1) / (times[E2] - times[E1]))
    return statistics.median(rates)


def matmul_flops() -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        runs.append(time.perf_counter() - start)
    return 2 * 2048**3 / statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    X = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    macs = sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:], strict=True))
    flops_per_sample = 6 * macs  # forward 2*MACs, backward about twice that
    peak = matmul_flops()
    trainers = {
        "aekit": train_aekit,
        "MLPRegressor": train_mlp,
        "PyOD AutoEncoder": train_pyod,
        "torch DataLoader loop": train_dataloader,
    }
    if args.only:
        trainers = {k: v for k, v in trainers.items() if k in args.only}
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    )
    print(
        f"float32 matmul rate: {peak / 1e9:.1f} GFLOP/s; "
        f"training FLOPs per sample: {flops_per_sample}"
    )
    print("| trainer | batch | samples/s | utilisation |")
    print("|---|---:|---:|---:|")
    for bs in args.batch_sizes:
        for name, train in trainers.items():
            rate = per_epoch_throughput(train, X, bs, args.repeats)
            util = flops_per_sample * rate / peak
            print(f"| {name} | {bs} | {rate:,.0f} | {100 * util:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
