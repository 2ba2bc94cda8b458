"""MNIST dimensionality reduction: a deep autoencoder against PCA with the same K.

Pixels in [0, 1], both fitted on the 60k training images; the figure is the test
set's average squared error per image (summed over the 784 pixels, mean over the
10k test images). Anchor (Hinton & Salakhutdinov, Science 2006, K = 30): deep
autoencoder 784-1000-500-250-30 reaches 3.00, PCA 13.87.

    python bench/dimred_mnist.py [DATA] [--config defaults|tuned]
        [--latent-dims 2 8 30 64] [--epochs 160] [--hidden-dims 512 256 128]
        [--batch-size 128] [--loss bce|mse] [--learning-rate 3e-3]
        [--activation relu] [--[no-]batch-norm] [--threads 2]

``--config defaults`` (the headline) is ``Autoencoder(latent_dim=K)`` with every
other parameter at its library default, and ignores the other options.
``--config tuned`` is the hand-set configuration that reached 2.99 at K = 30 in
15.7 minutes on 2 cores (BENCHMARKS.md), a plain network without the PCA path;
its options can be changed (Hinton & Salakhutdinov's 1000-500-250 network is
``--hidden-dims 1000 500 250``).

The loss is the pixels' binary cross-entropy by default (as Hinton & Salakhutdinov
trained); the reported error is the squared error either way.

DATA defaults to ../shared/data relative to the repository root (MNIST IDX files
in DATA/mnist).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

import aekit
from aekit.data import load_mnist

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def sse_per_image(X: np.ndarray, X_hat: np.ndarray) -> float:
    return float(((X_hat.astype(np.float64) - X) ** 2).sum(axis=1).mean())


def make_model(K: int, args) -> aekit.Autoencoder:
    if args.config == "defaults":
        return aekit.Autoencoder(latent_dim=K, random_state=0)
    return aekit.Autoencoder(
        tuple(args.hidden_dims),
        K,
        scaling=None,  # pixels stay in [0, 1]: sigmoid output
        loss=args.loss,
        pca_path=False,
        activation=args.activation,
        batch_norm=args.batch_norm,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lr_schedule="cosine",
        max_epochs=args.epochs,
        early_stopping=False,
        random_state=0,
    )


def run(K: int, Xtr, Xte, args) -> dict:
    ae = make_model(K, args)
    start = time.perf_counter()
    ae.fit(Xtr)
    ae_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pca = PCA(K, random_state=0).fit(Xtr)
    pca_seconds = time.perf_counter() - start
    ae_err = sse_per_image(Xte, ae.reconstruct(Xte))
    pca_err = sse_per_image(Xte, pca.inverse_transform(pca.transform(Xte)))
    return {
        "K": K,
        "ae": ae_err,
        "pca": pca_err,
        "ratio": pca_err / ae_err,
        "epochs": ae.n_iter_,
        "ae_s": ae_seconds,
        "pca_s": pca_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--config", choices=("defaults", "tuned"), default="defaults")
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 8, 30, 64])
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=[512, 256, 128])
    parser.add_argument("--epochs", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--loss", choices=("mse", "bce"), default="bce")
    parser.add_argument("--activation", default="relu")
    parser.add_argument(
        "--batch-norm", action=argparse.BooleanOptionalAction, default=True
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    Xtr = load_mnist(Path(args.data) / "mnist", "train")[0].reshape(-1, 784)
    Xte = load_mnist(Path(args.data) / "mnist", "test")[0].reshape(-1, 784)
    print("| K | autoencoder | PCA | PCA / AE | epochs | AE fit s | PCA fit s |")
    print("|---|---|---|---|---|---|---|")
    for K in args.latent_dims:
        r = run(K, Xtr, Xte, args)
        print(
            f"| {K} | {r['ae']:.2f} | {r['pca']:.2f} | {r['ratio']:.2f} | "
            f"{r['epochs']} | {r['ae_s']:.0f} | {r['pca_s']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
