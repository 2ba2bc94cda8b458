"""RecBole's EASE, MultiVAE and RecVAE on the splits of `bench/recsys_topk.py`
(issue 25): the same positives, the same held-out users (seed 0) and the same
80/20 fold-in/target split of each held-out user, judged by the same metrics.

RecBole runs at its own defaults (overall.yaml and the model's yaml) in its own
virtual environment, ``bench/out/recbole/venv``, made on the first run: RecBole
1.2.1 from the wheel in ``bench/out/recbole/`` (or PyPI) with ``--no-deps`` and
the few packages its training imports; torch, numpy, scipy, pandas and
scikit-learn come from the running environment through a ``.pth`` file.

RecBole trains on the training users only. Its early stopping needs validation
clicks of users it trains on, so each training user's clicks are split 90/10
(seed 0) into RecBole's train and valid files (its test file repeats valid and
is not used). The held-out users are then scored by strong generalisation, as
aekit's models are: their fold-in clicks go through the trained model
(``forward`` of MultiVAE and RecVAE in eval mode, ``history @ B`` for EASE);
fold-in items RecBole never saw in training are dropped, as aekit drops them.

    python bench/recbole_peers.py [DATA_FOLDER] [--datasets ml-latest-small ml-100k]
        [--models EASE MultiVAE RecVAE] [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "out" / "recbole"
VENV = WORK / "venv"
EXTRA = ["colorlog==4.7.2", "colorama==0.4.4", "tensorboard", "thop", "tabulate"]
EXTRA += ["texttable", "plotly", "psutil", "pyyaml", "tqdm"]


# ------------------------------------------------------- the caller's side
def ensure_venv() -> Path:
    """RecBole's environment (made once); returns its python."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    site = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "aekit_parent.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n"
    )
    wheels = sorted(WORK.glob("recbole-*.whl"))
    recbole = str(wheels[-1]) if wheels else "recbole==1.2.1"
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", recbole], check=True)
    subprocess.run([*pip, *EXTRA], check=True)
    return python


def write_split(name: str, data: Path, work: Path = WORK) -> Path | None:
    """The split files of one dataset under ``work`` (None: the dataset is not
    available); cornac_peers.py writes the same splits under its own folder."""
    sys.path.insert(0, str(HERE))
    from aekit.metrics import strong_generalization_split
    from recsys_topk import dataset_positives

    pos = dataset_positives(name, data)
    if pos is None:
        return None
    train, fold, target = strong_generalization_split(pos, random_state=0)
    folder = work / "splits" / name
    folder.mkdir(parents=True, exist_ok=True)
    for part, frame in {"train": train, "fold": fold, "target": target}.items():
        frame[["user", "item"]].to_csv(folder / f"{part}.csv", index=False)
    return folder


def judge(folder: Path, ranked: dict[str, list]) -> dict:
    sys.path.insert(0, str(HERE))
    import numpy as np
    import pandas as pd

    from recsys_topk import evaluate

    target = pd.read_csv(folder / "target.csv").astype(str)
    users = np.array(list(ranked))
    top = np.array([ranked[u] + [""] * (100 - len(ranked[u])) for u in users])
    return evaluate(top, target, users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(HERE.parent / ".." / "shared" / "data")
    )
    parser.add_argument("--datasets", nargs="+", default=["ml-latest-small", "ml-100k"])
    parser.add_argument("--models", nargs="+", default=["EASE", "MultiVAE", "RecVAE"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--inside", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(Path(args.inside[0]), args.inside[1], int(args.inside[2]))
    python = ensure_venv()
    for name in args.datasets:
        folder = write_split(name, Path(args.data))
        if folder is None:
            print(f"{name}: skipped (no ml-100k: see bench/recsys_topk.py)")
            continue
        print(f"\n## {name} (RecBole 1.2.1 at its defaults)\n")
        print("| model | NDCG@100 | Recall@20 | Recall@50 | notes |")
        print("|---|---|---|---|---|")
        for model in args.models:
            for seed in args.seeds:
                command = [str(python), str(Path(__file__).resolve()), "--inside"]
                command += [str(folder), model]
                out = subprocess.run(
                    [*command, str(seed)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=WORK,  # RecBole writes log/ and log_tensorboard/ there
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                m = judge(folder, result.pop("ranked"))
                print(
                    f"| RecBole {model} (seed {seed}) | {m['NDCG@100']:.4f} | "
                    f"{m['Recall@20']:.4f} | {m['Recall@50']:.4f} | {result} |",
                    flush=True,
                )


# ------------------------------------------------------- RecBole's side
def atomic_files(folder: Path, work: Path) -> None:
    """RecBole's benchmark files: each training user's clicks 90/10 into train
    and valid (seed 0); test repeats valid."""
    import numpy as np
    import pandas as pd

    train = pd.read_csv(folder / "train.csv").astype(str)
    rng = np.random.default_rng(0)
    valid = rng.random(len(train)) < 0.1
    (work / "aekit").mkdir(parents=True, exist_ok=True)
    header = "user_id:token\titem_id:token\n"
    for part, rows in {"train": ~valid, "valid": valid, "test": valid}.items():
        text = header + "".join(f"{u}\t{i}\n" for u, i in train[rows].to_numpy())
        (work / "aekit" / f"aekit.{part}.inter").write_text(text)


def numpy_1_names() -> None:
    """RecBole 1.2.1 reads ``np.float_`` and ``np.unicode_``, which NumPy 2
    removed: they are given back as the types they named."""
    import numpy as np

    for name, value in {"float_": np.float64, "complex_": np.complex128}.items():
        if not hasattr(np, name):
            setattr(np, name, value)
    if not hasattr(np, "unicode_"):
        np.unicode_ = np.str_


def inside(folder: Path, model_name: str, seed: int) -> None:
    """Train RecBole's ``model_name`` and print the top 100 of each held-out
    user (run in RecBole's environment)."""
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    numpy_1_names()
    torch.set_num_threads(1)
    work = WORK / "runs" / f"{folder.name}-{model_name}-{seed}"
    atomic_files(folder, work)
    config = Config(
        model=model_name,
        dataset="aekit",
        config_dict={
            "data_path": str(work),
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", "item_id"]},
            "seed": seed,
            "use_gpu": False,
            "show_progress": False,
            "checkpoint_dir": str(work / "saved"),
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, _ = data_preparation(config, dataset)
    model = get_model(config["model"])(config, train_data._dataset).to("cpu")
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    start = time.perf_counter()
    trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    seconds = time.perf_counter() - start
    state = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
    model.load_state_dict(state["state_dict"])
    model.load_other_parameter(state.get("other_parameter"))
    ranked = rank_fold_in(model, model_name, dataset, folder)
    epochs = int(state.get("epoch", -1)) + 1
    print(
        json.dumps({"fit_s": round(seconds, 1), "best_epoch": epochs, "ranked": ranked})
    )


def rank_fold_in(model, model_name: str, dataset, folder: Path) -> dict[str, list]:
    """Top 100 unseen items of each held-out user from the fold-in clicks."""
    import numpy as np
    import pandas as pd
    import torch

    fold = pd.read_csv(folder / "fold.csv").astype(str)
    known = dataset.field2token_id["item_id"]
    fold = fold[fold["item"].isin(known)]
    users = fold["user"].unique()
    row = {u: r for r, u in enumerate(users)}
    x = torch.zeros(len(users), dataset.item_num)
    x[[row[u] for u in fold["user"]], [known[i] for i in fold["item"]]] = 1.0
    model.eval()
    with torch.no_grad():
        if model_name == "EASE":
            scores = torch.from_numpy(x.numpy() @ np.asarray(model.item_similarity))
        elif model_name == "RecVAE":
            scores = model.forward(x, 0.0)[0]
        else:
            scores = model.forward(x)[0]
    scores = scores.float().masked_fill(x > 0, -torch.inf)
    scores[:, 0] = -torch.inf  # RecBole's padding item
    top = scores.topk(100, dim=1).indices.numpy()
    tokens = dataset.field2id_token["item_id"]
    return {u: [str(tokens[i]) for i in top[r]] for u, r in row.items()}


if __name__ == "__main__":
    main()
