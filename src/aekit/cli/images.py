"""The image commands of ``aekit``: ``denoise`` and ``generate``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from aekit import persistence, plotting
from aekit.cli._io import Subcommands, parse_image_size
from aekit.data.images import read_image_folder, read_images, write_images


def add_commands(subparsers: Subcommands) -> None:
    """Add ``denoise`` and ``generate`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser("denoise", help="write clean versions of noisy images")
    p.add_argument("model", help="model folder of an image model (e.g. --model conv)")
    p.add_argument("images", help="folder of PNG/JPEG images, or a .npy/.npz file")
    p.add_argument("-o", "--output", required=True, help="a folder for PNGs, or .npy")
    p.add_argument("--size", default=None, help="resize images to HEIGHTxWIDTH")
    p.set_defaults(run=cmd_denoise)

    p = subparsers.add_parser(
        "generate", help="sample new data from a generative model"
    )
    p.add_argument("model", help="model folder of a VAE (--model vae or convvae)")
    p.add_argument("-n", "--n-samples", type=int, default=64)
    p.add_argument("-o", "--output", required=True, help=".png (a grid) or .npy")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.set_defaults(run=cmd_generate)


def _load_with(path: str, method: str) -> Any:
    estimator = persistence.load(path)
    if not hasattr(estimator, method):
        hint = "an image model (--model conv or convvae)"
        if method == "sample":
            hint = "a generative model (--model vae or convvae)"
        raise ValueError(
            f"the model in {path} ({type(estimator).__name__}) has no {method}(); "
            f"train {hint}"
        )
    return estimator


def cmd_denoise(args: argparse.Namespace) -> None:
    estimator = _load_with(args.model, "denoise")
    size = parse_image_size(args.size)
    if Path(args.images).is_dir():
        images, names = read_image_folder(args.images, size=size)
    else:
        images = read_images(args.images, size=size)
        names = [f"image_{i:05d}.png" for i in range(len(images))]
    clean = estimator.denoise(images)
    out = Path(args.output)
    if out.suffix.lower() == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, clean)
    elif out.suffix:
        raise ValueError(f"-o must be a folder (for PNGs) or a .npy file, got {out}")
    else:
        shape = (len(clean), *estimator.image_shape_)
        write_images(clean.reshape(shape), out, names)
    print(f"denoised {len(clean)} images to {out}")


def cmd_generate(args: argparse.Namespace) -> None:
    estimator = _load_with(args.model, "sample")
    samples = estimator.sample(args.n_samples, random_state=args.seed)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".npy":
        np.save(out, samples)
    elif suffix == ".png":
        shape = getattr(estimator, "image_shape_", None)
        if shape is None and int(np.sqrt(samples.shape[1])) ** 2 != samples.shape[1]:
            raise ValueError("samples are not square images: write them to .npy")
        fig = plotting.sample_grid(samples, image_shape=shape)
        fig.savefig(out, dpi=100)
    else:
        raise ValueError(f"-o must end in .png or .npy, got {out.name!r}")
    print(f"wrote {len(samples)} samples to {out}")
