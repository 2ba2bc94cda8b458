"""Candidates for `aekit.RecVAE`'s defaults (issue 25) on the tuning sets of
`tune_recsys.py` (half of the MovieLens latest-small training users of
`bench/recsys_topk.py`, synthetic click matrices); never a benchmark's test users.

    python bench/tuning/tune_recvae.py [DATA_FOLDER] [--data ml 3000x1000]
        [--configs paper ...] [--seeds 0] [--splits 13]

Prints, per (data, config), NDCG@100 of the held-out users (mean over seeds and
splits, then each run's), the best epochs and the fit time; Mult-VAE at its
defaults alongside.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit import defaults
from aekit.metrics import strong_generalization_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_recsys import DEFAULT_DATA, clicks_set, evaluate  # noqa: E402

LINEAR = {"hidden_dims": (), "latent_dim": "mult", "dropout": 0.3}
CONFIGS = {
    "multvae": {"model": "multvae"},
    "defaults": {},
    "paper": {
        "hidden_dims": (600,) * 5,
        "latent_dim": 200,
        "dropout": 0.5,
        "gamma": 0.005,
        "learning_rate": 5e-4,
    },
    "layers_2": {"hidden_dims": (600, 600)},
    "layers_1": {"hidden_dims": (600,)},
    "dropout_0.3": {"dropout": 0.3},
    "gamma_0.002": {"gamma": 0.002},
    "gamma_0.01": {"gamma": 0.01},
    "gamma_0.0025": {"gamma": 0.0025},
    "batch_128": {"batch_size": 128},
    "lr_1e-3": {"learning_rate": 1e-3},
    "code_600": {"latent_dim": 600},
    "enc_1": {"encoder_epochs": 1},
    # Round 3: RecVAE's prior, per-user beta and alternating epochs on Mult-VAE's
    # small-data shape (no hidden layer, code min(600, n_items // 2), dropout
    # 0.3); "mult" is that code size for the data at hand.
    "linear": LINEAR,
    "linear_gamma_0.002": dict(LINEAR, gamma=0.002),
    "linear_gamma_0.01": dict(LINEAR, gamma=0.01),
    "linear_enc_1": dict(LINEAR, encoder_epochs=1),
    "linear_1x600": dict(LINEAR, hidden_dims=(600,)),
    "linear_lr_1e-3": dict(LINEAR, learning_rate=1e-3),  # Mult-VAE's rate
    "linear_gamma_0.002_enc_1": dict(LINEAR, gamma=0.002, encoder_epochs=1),
    "linear_lr_1e-3_gamma_0.002": dict(LINEAR, learning_rate=1e-3, gamma=0.002),
    "linear_lr_1e-3_gamma_0.002_enc_1": dict(
        LINEAR, learning_rate=1e-3, gamma=0.002, encoder_epochs=1
    ),
}


def run(frame, config: dict, seed: int, split: int) -> tuple[float, int, float]:
    params = dict(config)
    cls = aekit.MultVAE if params.pop("model", "recvae") == "multvae" else aekit.RecVAE
    train, fold, target = strong_generalization_split(frame, random_state=split)
    if params.get("latent_dim") == "mult":  # Mult-VAE's small-data code size
        n_items = train["item"].nunique()
        params["latent_dim"] = defaults.mult_shape_rule(0, n_items)[1]
    start = time.perf_counter()
    model = cls(**params, random_state=seed, device="cpu").fit(train)
    seconds = time.perf_counter() - start
    rec = model.recommend(fold, k=100)
    ndcg = evaluate(rec.items, target, rec.users)["NDCG@100"]
    return ndcg, model.best_epoch_, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--data", dest="sets", nargs="+", default=["ml", "3000x1000"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--splits", type=int, nargs="+", default=[13])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.sets:
        frame = clicks_set(name, Path(args.data))
        print(f"{name}: {frame['user'].nunique()} users, {len(frame)} clicks")
        for config in args.configs:
            runs = [
                run(frame, CONFIGS[config], seed, split)
                for seed in args.seeds
                for split in args.splits
            ]
            ndcg = np.mean([r[0] for r in runs])
            epochs = [r[1] for r in runs]
            secs = np.mean([r[2] for r in runs])
            each = " ".join(f"{r[0]:.4f}" for r in runs)
            print(
                f"  {config:>12}: NDCG@100 {ndcg:.4f} [{each}], best epochs "
                f"{epochs}, fit {secs:.1f}s",
                flush=True,
            )
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
