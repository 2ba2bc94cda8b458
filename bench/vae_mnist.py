"""VAE on dynamically binarised MNIST: test-set negative log-likelihood in nats.

Training draws binary pixels ~ Bernoulli(intensity) for every batch (dynamic
binarisation); the test set is binarised once with a fixed seed. The NLL is the
importance-weighted estimate with k samples (Burda et al. 2016, k = 5000 there),
reported with the standard error of the mean over test images. Anchors (Burda et
al. 2016, Table 1): VAE with one stochastic layer 86.76 nats, IWAE (k=50, two
stochastic layers) 82.90.

    python bench/vae_mnist.py [DATA_FOLDER] [--model dense|conv]
        [--config defaults|tuned] [--minutes 30] [--epochs 280]
        [--lr-schedule cosine|none] [--k 5000] [--n-test 10000]
        [--save DIR | --load DIR]

``--config defaults`` (the headline) trains ``VAE(latent_dim=32,
likelihood="bernoulli")`` with every other parameter at its library default
(which binarises dynamically, sizes the network and budgets the training).
``--config tuned`` is the first round's hand-set run: (512, 256) hidden, batch
128, KL warm-up over 10 epochs, no early stopping; it stops at ``--epochs`` or
after ``--minutes`` of training, whichever comes first, and the cosine schedule
anneals the learning rate to zero at ``--epochs``, so choose ``--epochs`` that
fit in ``--minutes``. ``--save`` writes the trained model
(aekit format); ``--load`` evaluates a saved model without training. Writes
bench/out/vae_samples.png (a grid of 64 samples).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit import plotting
from aekit.callbacks import MaxTime
from aekit.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]


def default_model(kind: str) -> aekit.VAE | aekit.ConvVAE:
    """The library defaults; only the code size and the likelihood are set."""
    cls = aekit.ConvVAE if kind == "conv" else aekit.VAE
    return cls(latent_dim=32, likelihood="bernoulli", random_state=0)


def make_model(kind: str, epochs: int, schedule: str) -> aekit.VAE | aekit.ConvVAE:
    common = dict(
        lr_schedule=None if schedule == "none" else schedule,
        likelihood="bernoulli",
        binarize=True,
        kl_warmup=10,
        max_epochs=epochs,
        batch_size=128,
        learning_rate=1e-3,
        early_stopping=False,
        random_state=0,
        device="cpu",
    )
    if kind == "conv":
        return aekit.ConvVAE(channels=(32, 64), latent_dim=32, **common)
    return aekit.VAE(hidden_dims=(512, 256), latent_dim=32, **common)


def train_model(args: argparse.Namespace, X: np.ndarray) -> aekit.VAE | aekit.ConvVAE:
    if args.config == "defaults":
        model = default_model(args.model)
    else:
        model = make_model(args.model, args.epochs, args.lr_schedule)
        model.set_params(callbacks=[MaxTime(60 * args.minutes)])
    start = time.perf_counter()
    model.fit(X)
    train_s = time.perf_counter() - start
    last = model.history_[-1]
    print(f"trained {model.n_iter_} epochs in {train_s:.0f} s, loss {last['loss']:.2f}")
    print(f"settings used: {model.resolved_params_}")
    if args.save:
        aekit.save(model, args.save)
        print(f"saved to {args.save}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=ROOT.parent / "shared/data/mnist")
    parser.add_argument("--model", choices=("dense", "conv"), default="dense")
    parser.add_argument("--config", choices=("defaults", "tuned"), default="defaults")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--epochs", type=int, default=280)
    parser.add_argument("--lr-schedule", choices=("cosine", "none"), default="cosine")
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--save", type=Path, help="write the trained model here")
    parser.add_argument("--load", type=Path, help="evaluate this saved model")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train, _ = load_mnist(args.data, "train")
    test, _ = load_mnist(args.data, "test")
    rng = np.random.default_rng(0)
    test_bin = (rng.random(test.shape) < test).astype(np.float32)[: args.n_test]
    flat = args.model == "dense"
    if args.load:
        model = aekit.load(args.load, device="cpu")
        print(f"loaded {args.load}: {model.n_iter_} epochs")
    else:
        model = train_model(args, train.reshape(len(train), -1) if flat else train)
    X = test_bin.reshape(len(test_bin), -1) if flat else test_bin
    start = time.perf_counter()
    elbo = model.score_samples(X, n_importance=1)
    logp = model.score_samples(X, n_importance=args.k, random_state=1)
    eval_s = time.perf_counter() - start
    sem = logp.std() / np.sqrt(len(logp))
    print(f"test ELBO bound: {-elbo.mean():.2f} nats ({len(X)} images)")
    print(f"test NLL (k={args.k}): {-logp.mean():.2f} +- {sem:.2f} nats (SEM)")
    print(f"evaluation took {eval_s:.0f} s")
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    samples = model.sample(64, random_state=0)
    fig = plotting.sample_grid(samples.reshape(64, 28, 28), title=f"{args.model} VAE")
    fig.savefig(out / "vae_samples.png", dpi=80)


if __name__ == "__main__":
    main()
