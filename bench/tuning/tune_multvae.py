"""Choose Mult-VAE/Mult-DAE settings for `bench/recsys_topk.py` on the same
validation split of the training users that picks EASE's lambda (seed 1), never on
the test users.

    python bench/tuning/tune_multvae.py [DATA_FOLDER] [--configs base l2_1e-4 ...]
        [--seeds 0 1 2] [--refit]

Prints the validation NDCG@100 of every config (mean and spread over the seeds'
random_state) and of EASE (lambda grid).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.data import frame_to_matrix
from aekit.metrics import strong_generalization_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recsys_topk
from recsys_topk import (  # noqa: E402
    AEKIT,
    DEFAULT_DATA,
    EASE_GRID,
    VAE_EXTRA,
    ease_weights,
    evaluate,
    fit_aekit,
    history_matrix,
    positives,
    top_k,
)

BASE = {**AEKIT, **VAE_EXTRA}
CONFIGS = {
    "base": {},
    "dae": {"model": "dae"},
    "l2_1e-5": {"l2": 1e-5},
    "l2_1e-4": {"l2": 1e-4},
    "l2_1e-3": {"l2": 1e-3},
    "dropout_0.7": {"dropout": 0.7},
    "latent_400": {"hidden_dims": (800,), "latent_dim": 400},
    "cap_0.5": {"anneal_cap": 0.5},
    "cap_0.05": {"anneal_cap": 0.05},
    "shallow_200": {"hidden_dims": (), "latent_dim": 200},
    "shallow_600": {"hidden_dims": (), "latent_dim": 600},
    "shallow_400": {"hidden_dims": (), "latent_dim": 400},
    "shallow_1000": {"hidden_dims": (), "latent_dim": 1000},
    "shallow_600_lr3e-4": {"hidden_dims": (), "latent_dim": 600, "learning_rate": 3e-4},
    "dae_shallow_600": {"model": "dae", "hidden_dims": (), "latent_dim": 600},
    **{
        f"{prefix}shallow_600_drop{p}": {
            **extra,
            "hidden_dims": (),
            "latent_dim": 600,
            "dropout": p,
        }
        for prefix, extra in [("", {}), ("dae_", {"model": "dae"})]
        for p in (0.1, 0.2, 0.3)
    },
    "cosine": {"lr_schedule": "cosine", "max_epochs": 100, "early_stopping": False},
    "adamw_1e-2": {"optimizer": "adamw", "l2": 1e-2},
    "adamw_1e-1": {"optimizer": "adamw", "l2": 1e-1},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument(
        "--refit",
        action="store_true",
        help="after early stopping, retrain on all the users for the best epoch count",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    torch.set_num_threads(2)
    pos = positives(Path(args.data) / "ml-latest-small" / "ratings.csv")
    train, _, _ = strong_generalization_split(pos, random_state=0)
    tr, vfold, vtarget = strong_generalization_split(
        train, test_users=0.2, random_state=1
    )
    X, _, items = frame_to_matrix(tr, "user", "item")
    users, H = history_matrix(vfold, items)
    for lam in EASE_GRID:
        m = evaluate(top_k(H @ ease_weights(X, lam), H, items), vtarget, users)
        print(f"EASE lambda={lam:g}: val NDCG@100 {m['NDCG@100']:.4f}", flush=True)
    for name in args.configs:
        params = {**BASE, **CONFIGS[name]}
        cls = aekit.MultDAE if params.pop("model", "vae") == "dae" else aekit.MultVAE
        if cls is aekit.MultDAE:
            params.pop("anneal_steps")
        scores, epochs = [], []
        start = time.perf_counter()
        for seed in args.seeds:
            params["random_state"] = seed
            model, best = fit_aekit(cls, params, tr, refit=args.refit)
            rec = model.recommend(vfold, k=100)
            scores.append(evaluate(rec.items, vtarget, rec.users)["NDCG@100"])
            epochs.append(best)
        seconds = (time.perf_counter() - start) / len(args.seeds)
        each = " ".join(f"{x:.4f}" for x in scores)
        print(
            f"{name:14s} val NDCG@100 {np.mean(scores):.4f} +- {np.std(scores):.4f}"
            f"  [{each}]  best epochs {epochs}  {seconds:.0f}s/fit",
            flush=True,
        )


if __name__ == "__main__":
    main()
