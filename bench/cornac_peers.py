"""cornac's EASE, VAECF (its Mult-VAE) and RecVAE on the splits of
`bench/recsys_topk.py` (issue 25): the same positives, the same held-out users
(seed 0) and the same 80/20 fold-in/target split of each held-out user, judged
by the same metrics (`recsys_topk.evaluate`).

cornac runs at its own defaults in its own virtual environment,
``bench/out/cornac/venv``, made on the first run by `peer_venv.build_venv`:
``torch==2.13.0`` (VAECF and RecVAE import torch; the CPU wheel), then
``cornac==3.0.1`` beside it. Nothing from aekit's environment is visible there.

cornac trains on every click of the training users (its EASE, VAECF and RecVAE
have no early stopping: they run a fixed number of epochs). The held-out users
are then scored by strong generalisation, as aekit's models are: their fold-in
clicks go through the trained model, fold-in items cornac never saw in training
are dropped and seen items are excluded from the ranking. EASE: ``history @ B``
(cornac's ``B``, negative weights removed as its default ``posB=True`` does).
VAECF: softmax(decode(mu)) of ``vae.encode(history)``, as its ``score`` does
for a training user. RecVAE: the network in eval mode (no input dropout, the
code is the mean). Two rows beyond the defaults can be asked for by name:
``RecVAE-as-score``, RecVAE scored as cornac's own ``RecVAE.score`` runs the
network, left in training mode after ``fit`` (input dropout 0.5 and a sampled
code at prediction time), and ``VAECF-600-200`` (see `VARIANTS`).

    python bench/cornac_peers.py [DATA_FOLDER] [--datasets ml-latest-small ml-100k]
        [--models EASE VAECF RecVAE RecVAE-as-score VAECF-600-200] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from peer_venv import build_venv

HERE = Path(__file__).resolve().parent
WORK = HERE / "out" / "cornac"
VENV = WORK / "venv"
ONE_THREAD = {
    k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
}
# Rows beyond cornac's defaults, asked for by name in --models: (cornac class,
# its arguments). VAECF-600-200 is Liang et al.'s 600-200 network with cornac's
# other VAECF defaults, set a priori (nothing tuned); RecVAE-as-score is RecVAE
# at its defaults, scored as cornac's own ``score`` runs the network.
VARIANTS = {
    "VAECF-600-200": ("VAECF", {"k": 200, "autoencoder_structure": [600]}),
    "RecVAE-as-score": ("RecVAE", {}),
}


# ------------------------------------------------------- the caller's side
def ensure_venv() -> Path:
    """cornac's environment (made once); returns its python."""
    return build_venv(VENV, ["cornac==3.0.1"], WORK)


def run_model(python: Path, folder: Path, model: str, seed: int) -> str:
    """One table row: train ``model`` in cornac's environment, judge its lists."""
    sys.path.insert(0, str(HERE))
    from recbole_peers import judge

    command = [str(python), str(Path(__file__).resolve()), "--inside"]
    out = subprocess.run(
        [*command, str(folder), model, str(seed)],
        check=True,
        stdout=subprocess.PIPE,  # stderr (cornac's warnings, errors) shows as is
        text=True,
        env={**os.environ, **ONE_THREAD},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    m = judge(folder, result.pop("ranked"))
    label = "deterministic" if model == "EASE" else f"seed {seed}"
    return (
        f"| cornac {model} ({label}) | {m['NDCG@100']:.4f} | "
        f"{m['Recall@20']:.4f} | {m['Recall@50']:.4f} | {result} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(HERE.parent / ".." / "shared" / "data")
    )
    parser.add_argument("--datasets", nargs="+", default=["ml-latest-small", "ml-100k"])
    parser.add_argument("--models", nargs="+", default=["EASE", "VAECF", "RecVAE"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--inside", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(Path(args.inside[0]), args.inside[1], int(args.inside[2]))
    sys.path.insert(0, str(HERE))
    from recbole_peers import write_split

    python = ensure_venv()
    for name in args.datasets:
        folder = write_split(name, Path(args.data), WORK)
        if folder is None:
            print(f"{name}: skipped (no ml-100k: see bench/recsys_topk.py)")
            continue
        print(f"\n## {name} (cornac at its defaults)\n")
        print("| model | NDCG@100 | Recall@20 | Recall@50 | notes |")
        print("|---|---|---|---|---|")
        for model in args.models:
            for seed in args.seeds[:1] if model == "EASE" else args.seeds:
                print(run_model(python, folder, model, seed), flush=True)


# ------------------------------------------------------- cornac's side
def inside(folder: Path, model_name: str, seed: int) -> None:
    """Train cornac's ``model_name`` on the training users and print the top
    100 of each held-out user (run in cornac's environment)."""
    import cornac
    import torch

    torch.set_num_threads(1)
    triples = [(u, i, 1.0) for u, i in read_pairs(folder / "train.csv")]
    train_set = cornac.data.Dataset.from_uir(triples, seed=seed)
    base, settings = VARIANTS.get(model_name, (model_name, {}))
    model = getattr(cornac.models, base)(seed=seed, verbose=False, **settings)
    start = time.perf_counter()
    model.fit(train_set)
    seconds = time.perf_counter() - start
    ranked = rank_fold_in(model, model_name, train_set.iid_map, folder)
    print(json.dumps({"fit_s": round(seconds, 1), "ranked": ranked}))


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """The (user, item) rows of a split file, as strings."""
    with open(path, newline="") as handle:
        rows = csv.reader(handle)
        next(rows)  # the header
        return [(user, item) for user, item in rows]


def fold_in_scores(model, model_name: str, x):
    """Scores of every item for the fold-in rows ``x`` (users x items)."""
    import numpy as np
    import torch

    if model_name == "EASE":
        return torch.from_numpy(x.numpy().astype(np.float64) @ model.B)
    with torch.no_grad():
        if model_name.startswith("VAECF"):
            mu, _ = model.vae.encode(x)
            return model.vae.decode(mu)
        net = model.recvae_model
        if model_name == "RecVAE":
            net.eval()
        return net(x, calculate_loss=False)


def rank_fold_in(model, model_name: str, known: dict, folder: Path) -> dict:
    """Top 100 unseen items of each held-out user from the fold-in clicks."""
    import torch

    fold = [(u, i) for u, i in read_pairs(folder / "fold.csv") if i in known]
    row: dict[str, int] = {}
    for user, _ in fold:
        row.setdefault(user, len(row))
    x = torch.zeros(len(row), len(known))
    x[[row[u] for u, _ in fold], [known[i] for _, i in fold]] = 1.0
    scores = fold_in_scores(model, model_name, x).double()
    scores = scores.masked_fill(x > 0, -torch.inf)
    top = scores.topk(100, dim=1).indices.numpy()
    tokens = [""] * len(known)
    for token, column in known.items():
        tokens[column] = token
    return {u: [tokens[i] for i in top[r]] for u, r in row.items()}


if __name__ == "__main__":
    main()
