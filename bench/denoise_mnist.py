"""Denoising MNIST test images: aekit's denoising ConvAutoencoder against classical
baselines, all on the same noisy images in one run.

Gaussian noise of std sigma (0.3 and 0.5) is added to [0, 1] pixels and clipped.
Reported: mean PSNR (peak 1.0) over the test images of the noisy input, a Gaussian
blur (best sigma from a grid), a 3x3 median filter, PCA projection (best K from a
grid, PCA fitted on the clean training images) and the denoising autoencoder
(trained on clean training images with Gaussian corruption of the same sigma).
The headline aekit row is `ConvAutoencoder(noise=sigma)` with every other
parameter at its library default; ``--tuned`` adds the benchmark's earlier
hand-set configuration (latent 64, batch 128, ``--epochs`` epochs, patience 3)
as a second row.

    python bench/denoise_mnist.py [DATA_FOLDER] [--sigmas 0.3 0.5] [--tuned]
        [--epochs 10] [--n-test 10000] [--n-train 60000] [--channels 32,64]

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


def add_noise(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = images + sigma * rng.standard_normal(images.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0)


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


def default_dae(sigma: float, args: argparse.Namespace) -> aekit.ConvAutoencoder:
    """The library defaults; only the task's noise level is set."""
    return aekit.ConvAutoencoder(noise=sigma, random_state=0)


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


def dae_row(name, make, train, test, noisy, sigma, args) -> tuple:
    start = time.perf_counter()
    dae = make(sigma, args).fit(train)
    seconds = time.perf_counter() - start
    clean = np.clip(dae.denoise(noisy), 0, 1)
    note = f"{dae.n_iter_} epochs (best {dae.best_epoch_}), {seconds:.0f} s training"
    return (name, psnr(test, clean).mean(), note), clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=ROOT.parent / "shared/data/mnist")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.3, 0.5])
    parser.add_argument("--tuned", action="store_true", help="add the tuned row")
    parser.add_argument("--epochs", type=int, default=10, help="tuned row only")
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument(
        "--channels",
        type=lambda s: tuple(int(c) for c in s.split(",")),
        default=(32, 64),
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    train, _ = load_mnist(args.data, "train")
    test, _ = load_mnist(args.data, "test")
    train, test = train[: args.n_train], test[: args.n_test]
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(train)} training, {len(test)} test images")
    for sigma in args.sigmas:
        noisy = add_noise(test, sigma, seed=int(1000 * sigma))
        rows = [("noisy input", psnr(test, noisy).mean(), "")]
        rows.append(("Gaussian blur", *best_blur(test, noisy)))
        median = ndimage.median_filter(noisy, size=(1, 3, 3))
        rows.append(("median 3x3", psnr(test, median).mean(), ""))
        rows.append(("PCA projection", *best_pca(train, test, noisy)))
        name = "aekit ConvAutoencoder, defaults"
        row, clean = dae_row(name, default_dae, train, test, noisy, sigma, args)
        rows.append(row)
        if args.tuned:
            name = "aekit ConvAutoencoder, tuned"
            rows.append(dae_row(name, tuned_dae, train, test, noisy, sigma, args)[0])
        print(f"\nsigma = {sigma}: mean PSNR (dB) over {len(test)} test images")
        for name, value, detail in rows:
            print(f"| {name} | {value:.2f} | {detail} |")
        best_classical = max(r[1] for r in rows[1:4])
        for name, value, _ in rows[4:]:
            print(f"{name} - best classical = {value - best_classical:+.2f} dB")
        fig = plotting.image_grid(
            [test[:10], noisy[:10], clean[:10]],
            (28, 28),
            row_titles=["original", f"noisy {sigma}", "denoised"],
        )
        fig.savefig(out / f"denoise_sigma{sigma}.png", dpi=80)


if __name__ == "__main__":
    main()
