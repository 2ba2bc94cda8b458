"""`Autoencoder(latent_dim=K)` at its library defaults against `PCA(K)`, on held-out
data: what a user who never tunes gets.

Sets (each with its K):
- digits: scikit-learn's 8x8 digits / 16, K = 2 and 8, a 70/30 split;
- MNIST: 1k, 15k or 60k training images in [0, 1], K = 30, scored on the 10k test
  images;
- tables: every ODDS ``.mat`` / ADBench ``.npz`` file with at least 500 rows,
  K = ceil(n_features / 4), a 70/30 split, standardised with the training part's
  mean and standard deviation (errors in standardised units, PCA on the same data).
  Training parts above ``--max-train-rows`` are subsampled (said in the output).
  A MAT 7.3 file is skipped without h5py (its ADBench .npz twin still runs).

The error is the mean over held-out rows of the summed squared error; the figure
of merit is PCA error / AE error (above 1: the autoencoder wins). Per seed the
split (or MNIST subset) and both models' seeds change.

    python bench/defaults_vs_pca.py [DATA] [--sets digits mnist1k mnist15k mnist60k
        tables] [--seeds 0 1 2] [--max-train-rows 20000] [--json out.json]

DATA defaults to ../shared/data relative to the repository root.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import aekit
from aekit.data import load_mnist, load_odds

ROOT = Path(__file__).resolve().parents[1]


def held_out_error(X: np.ndarray, X_hat: np.ndarray) -> float:
    return float(np.mean(np.sum((X - X_hat) ** 2, axis=1)))


def compare(name: str, K: int, X_train, X_test, seed: int) -> dict:
    pca = PCA(K, random_state=seed).fit(X_train)
    pca_error = held_out_error(X_test, pca.inverse_transform(pca.transform(X_test)))
    ae = aekit.Autoencoder(latent_dim=K, random_state=seed)
    start = time.perf_counter()
    ae.fit(X_train)
    seconds = time.perf_counter() - start
    ae_error = held_out_error(X_test, ae.reconstruct(X_test))
    row = {
        "set": name,
        "K": K,
        "seed": seed,
        "n_train": len(X_train),
        "pca": pca_error,
        "ae": ae_error,
        "ratio": pca_error / ae_error,
        "fit_s": seconds,
        "epochs": ae.n_iter_,
        "resolved": {k: str(v) for k, v in ae.resolved_params_.items()},
    }
    print(
        f"{name:>22} K={K:<3} seed {seed}  PCA {pca_error:9.4f}  AE {ae_error:9.4f}"
        f"  ratio {row['ratio']:5.2f}  fit {seconds:6.1f} s  ({ae.n_iter_} epochs)",
        flush=True,
    )
    return row


def digits_runs(seeds: list[int]) -> list[dict]:
    X = load_digits().data / 16.0
    rows = []
    for seed in seeds:
        a, b = train_test_split(X, test_size=0.3, random_state=seed)
        rows += [compare("digits", K, a, b, seed) for K in (2, 8)]
    return rows


def mnist_runs(data: Path, n_train: int, seeds: list[int]) -> list[dict]:
    X, _ = load_mnist(data / "mnist", "train")
    X_test, _ = load_mnist(data / "mnist", "test")
    X, X_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    rows = []
    for seed in seeds:
        pick = np.random.default_rng(seed).permutation(len(X))[:n_train]
        rows.append(compare(f"mnist{n_train // 1000}k", 30, X[pick], X_test, seed))
    return rows


def table_files(data: Path) -> list[Path]:
    folder = data / "odds"
    return sorted(folder.glob("odds_mat/*.mat")) + sorted(
        folder.glob("adbench_classical/*.npz")
    )


def table_runs(data: Path, seeds: list[int], max_rows: int) -> list[dict]:
    rows = []
    for path in table_files(data):
        try:
            X, _ = load_odds(path)
        except ImportError as exc:  # MAT 7.3 files need h5py; ADBench has them too
            print(f"skipped {path.name}: {exc}", flush=True)
            continue
        if len(X) < 500:
            continue
        X = X[:, X.std(axis=0) > 0]  # constant columns carry nothing
        K = math.ceil(X.shape[1] / 4)
        name = f"{path.parent.name[:5]}/{path.stem}"
        for seed in seeds:
            a, b = train_test_split(X, test_size=0.3, random_state=seed)
            if len(a) > max_rows:
                a = a[np.random.default_rng(seed).permutation(len(a))[:max_rows]]
            mean, std = a.mean(axis=0), a.std(axis=0)
            std = np.where(std > 0, std, 1.0)
            rows.append(compare(name, K, (a - mean) / std, (b - mean) / std, seed))
    return rows


def summary(rows: list[dict]) -> None:
    by_set: dict[tuple, list[dict]] = {}
    for row in rows:
        by_set.setdefault((row["set"], row["K"]), []).append(row)
    print("\nset                      K   mean ratio  min ratio  mean fit s")
    means = []
    for (name, K), group in by_set.items():
        ratios = [r["ratio"] for r in group]
        means.append((float(np.mean(ratios)), name, K))
        fit = np.mean([r["fit_s"] for r in group])
        mean = np.mean(ratios)
        print(f"{name:>22} {K:>3}   {mean:9.3f}  {min(ratios):9.3f}  {fit:9.1f}")
    tables = [m for m in means if "/" in m[1]]
    if tables:
        worst = min(tables)
        print(
            f"\ntables: {len(tables)} sets, median ratio "
            f"{np.median([m[0] for m in tables]):.3f}, worst {worst[0]:.3f} "
            f"({worst[1]}), sets below 1.0: {sum(m[0] < 1 for m in tables)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared/data"))
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["digits", "mnist1k", "mnist15k", "tables"],
        choices=["digits", "mnist1k", "mnist15k", "mnist60k", "tables"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-train-rows", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", help="write every row to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    rows: list[dict] = []
    for name in args.sets:
        if name == "digits":
            rows += digits_runs(args.seeds)
        elif name.startswith("mnist"):
            rows += mnist_runs(data, int(name[5:-1]) * 1000, args.seeds)
        else:
            rows += table_runs(data, args.seeds, args.max_train_rows)
    summary(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
