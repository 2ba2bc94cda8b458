"""Denoising MNIST test images: aekit's denoising ConvAutoencoder against classical
baselines, all on the same noisy images in one run.

Gaussian noise of std sigma (0.3 and 0.5 by default; ``--noises`` adds e.g.
``sp:0.2``, 20% of the pixels set to 0 or 1) is added to [0, 1] pixels and
clipped.
Reported: mean PSNR (peak 1.0) over the test images of the noisy input, a Gaussian
blur (best sigma from a grid), a 3x3 median filter, PCA projection (best K from a
grid, PCA fitted on the clean training images) and the denoising autoencoder
(trained on clean training images with Gaussian corruption of the same sigma).
The headline aekit row is `ConvAutoencoder(noise=sigma)` with every other
parameter at its library default; ``--tuned`` adds the benchmark's earlier
hand-set configuration (latent 64, batch 128, ``--epochs`` epochs, patience 3)
as a second row.

    python bench/denoise_mnist.py [DATA_FOLDER] [--sigmas 0.3 0.5] [--tuned]
        [--noises gaussian:0.4 sp:0.2] [--seeds 0 1 2]
        [--epochs 10] [--n-test 10000] [--n-train 60000] [--channels 32,64]

With several ``--seeds`` the default row is trained once per seed and reported
with its spread (min-max).

DATA_FOLDER holds the MNIST IDX files (default: ../shared/data/mnist from the
repository root). Writes bench/out/denoise_sigma*.png.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from sklearn.decomposition import PCA

import aekit
from aekit import plotting
from aekit.data import load_mnist
from aekit.metrics import psnr

ROOT = Path(__file__).resolve().parents[1]
BLUR_SIGMAS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
PCA_KS = (10, 20, 30, 50, 75, 100, 150)


def add_noise(
    images: np.ndarray, sigma: float, seed: int, kind: str = "gaussian"
) -> np.ndarray:
    """Gaussian noise of std ``sigma``, clipped to [0, 1]; or with ``kind="sp"``
    a fraction ``sigma`` of the pixels set to 0 or 1 (half each)."""
    rng = np.random.default_rng(seed)
    if kind == "sp":
        hit = rng.random(images.shape) < sigma
        salt = rng.random(images.shape) < 0.5
        return np.where(hit, salt.astype(np.float32), images)
    noisy = images + sigma * rng.standard_normal(images.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0)


NOISE_TYPES = {"gaussian": "gaussian", "sp": "salt_pepper"}


def best_blur(clean: np.ndarray, noisy: np.ndarray) -> tuple[float, str]:
    scores = {
        s: psnr(clean, ndimage.gaussian_filter(noisy, (0, s, s))).mean()
        for s in BLUR_SIGMAS
    }
    best = max(scores, key=lambda s: scores[s])
    return float(scores[best]), f"sigma={best}"


def best_pca(
    train: np.ndarray, clean: np.ndarray, noisy: np.ndarray
) -> tuple[float, str]:
    pca = PCA(n_components=max(PCA_KS), random_state=0).fit(
        train.reshape(len(train), -1)
    )
    codes = pca.transform(noisy.reshape(len(noisy), -1))
    scores = {}
    for k in PCA_KS:
        recon = codes[:, :k] @ pca.components_[:k] + pca.mean_
        scores[k] = psnr(clean, np.clip(recon, 0, 1).reshape(clean.shape)).mean()
    best = max(scores, key=lambda k: scores[k])
    return float(scores[best]), f"K={best}"


def default_dae(
    sigma: float, args: argparse.Namespace, kind: str = "gaussian", seed: int = 0
) -> aekit.ConvAutoencoder:
    """The library defaults; only the task's noise (type and level) is set."""
    return aekit.ConvAutoencoder(
        noise=sigma, noise_type=NOISE_TYPES[kind], random_state=seed
    )


def tuned_dae(sigma: float, args: argparse.Namespace) -> aekit.ConvAutoencoder:
    """The hand-set configuration of the first round."""
    return aekit.ConvAutoencoder(
        channels=args.channels,
        latent_dim=64,
        noise=sigma,
        batch_size=128,
        max_epochs=args.epochs,
        patience=3,
        random_state=0,
    )


def dae_row(name, make, train, test, noisy, sigma, args, **kw) -> tuple:
    start = time.perf_counter()
    dae = make(sigma, args, **kw).fit(train)
    seconds = time.perf_counter() - start
    clean = np.clip(dae.denoise(noisy), 0, 1)
    note = f"{dae.n_iter_} epochs (best {dae.best_epoch_}), {seconds:.0f} s training"
    return (name, psnr(test, clean).mean(), note), clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=ROOT.parent / "shared/data/mnist")
    parser.add_argument("--sigmas", type=float, nargs="*", default=[0.3, 0.5])
    parser.add_argument("--tuned", action="store_true", help="add the tuned row")
    parser.add_argument("--epochs", type=int, default=10, help="tuned row only")
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument(
        "--channels",
        type=lambda s: tuple(int(c) for c in s.split(",")),
        default=(32, 64),
    )
    parser.add_argument(
        "--noises", nargs="+", default=[], help="KIND:LEVEL, KIND gaussian or sp"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    torch.set_num_threads(2)
    train, _ = load_mnist(args.data, "train")
    test, _ = load_mnist(args.data, "test")
    train, test = train[: args.n_train], test[: args.n_test]
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(train)} training, {len(test)} test images")
    tasks = [("gaussian", sigma) for sigma in args.sigmas] + [
        (kind, float(level)) for kind, level in (n.split(":") for n in args.noises)
    ]
    for kind, sigma in tasks:
        noisy = add_noise(test, sigma, int(1000 * sigma), kind)
        rows = [("noisy input", psnr(test, noisy).mean(), "")]
        rows.append(("Gaussian blur", *best_blur(test, noisy)))
        median = ndimage.median_filter(noisy, size=(1, 3, 3))
        rows.append(("median 3x3", psnr(test, median).mean(), ""))
        rows.append(("PCA projection", *best_pca(train, test, noisy)))
        for seed in args.seeds:
            name = f"aekit ConvAutoencoder, defaults, seed {seed}"
            row, clean = dae_row(
                name, default_dae, train, test, noisy, sigma, args, kind=kind,
                seed=seed,
            )  # fmt: skip
            rows.append(row)
        if args.tuned:
            name = "aekit ConvAutoencoder, tuned"
            rows.append(dae_row(name, tuned_dae, train, test, noisy, sigma, args)[0])
        label = f"{kind} {sigma}"
        print(f"\n{label}: mean PSNR (dB) over {len(test)} test images")
        for name, value, detail in rows:
            print(f"| {name} | {value:.2f} | {detail} |", flush=True)
        best_classical = max(r[1] for r in rows[1:4])
        for name, value, _ in rows[4:]:
            print(f"{name} - best classical = {value - best_classical:+.2f} dB")
        seeds = [r[1] for r in rows[4 : 4 + len(args.seeds)]]
        print(
            f"defaults over seeds {args.seeds}: mean {np.mean(seeds):.2f} dB, "
            f"min {min(seeds):.2f}, max {max(seeds):.2f}; min - best classical "
            f"{min(seeds) - best_classical:+.2f} dB"
        )
        fig = plotting.image_grid(
            [test[:10], noisy[:10], clean[:10]],
            (28, 28),
            row_titles=["original", f"noisy {label}", "denoised"],
        )
        fig.savefig(out / f"denoise_{kind}{sigma}.png", dpi=80)


if __name__ == "__main__":
    main()
