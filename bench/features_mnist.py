"""Codes as features: logistic regression on 30-d autoencoder codes, on 30-d PCA
codes and on raw pixels (same MNIST training subset; accuracy on the 10k test set).
The headline autoencoder row is `Autoencoder(latent_dim=30)` at its library
defaults; the "tuned" row is the first round's hand-set network (``--hidden-dims``,
``--epochs``, cosine schedule, batch 128, squared error, no PCA path).

    python bench/features_mnist.py [DATA] [--n-train 10000] [--latent-dim 30]
        [--epochs 30] [--threads 2]

DATA defaults to ../shared/data relative to the repository root.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.data import load_mnist

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def accuracy(steps, Xtr, ytr, Xte, yte) -> tuple[float, float]:
    clf = LogisticRegression(max_iter=1000)
    pipe = make_pipeline(*steps, StandardScaler(), clf)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(Xtr, ytr)
    return float(np.mean(pipe.predict(Xte) == yte)), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--latent-dim", type=int, default=30)
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=[512, 256])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.data) / "mnist"
    Xtr, ytr = load_mnist(folder, "train")
    Xte, yte = load_mnist(folder, "test")
    Xtr, ytr = Xtr[: args.n_train].reshape(-1, 784), ytr[: args.n_train]
    Xte = Xte.reshape(-1, 784)
    K = args.latent_dim
    ae = aekit.Autoencoder(
        tuple(args.hidden_dims),
        K,
        scaling=None,
        pca_path=False,  # the first round's plain network, squared error
        loss="mse",
        lr_schedule="cosine",
        max_epochs=args.epochs,
        batch_size=128,
        early_stopping=False,
        random_state=0,
    )
    rows = [
        (
            f"autoencoder codes ({K}-d), defaults",
            [aekit.Autoencoder(latent_dim=K, random_state=0)],
        ),
        (f"autoencoder codes ({K}-d), tuned", [ae]),
        (f"PCA codes ({K}-d)", [PCA(K, random_state=0)]),
        ("raw pixels (784-d)", []),
    ]
    print(f"n_train = {len(Xtr)}, test = {len(Xte)}\n")
    print("| features | test accuracy | fit s (incl. encoder) |\n|---|---|---|")
    for label, steps in rows:
        acc, seconds = accuracy(steps, Xtr, ytr, Xte, yte)
        print(f"| {label} | {acc:.4f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
