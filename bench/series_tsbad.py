"""SeriesDetector beside TSB-AD's own detectors, judged by TSB-AD's own metric.

One script, two environments:

- **aekit side** (the project's ``.venv``): each series of a family is loaded as
  ``bench/series_nab.py`` / ``bench/series_gutentag.py`` load it, aekit's
  ``SeriesDetector(random_state=0, device="cpu")`` is fitted at its defaults on
  the training part and scores the whole scored series; values, labels, the
  training part and aekit's point scores and 0/1 predictions are saved to
  ``bench/out/tsbad/series/<family>/<name>.npz``.
- **TSB-AD side** (``bench/out/tsbad/venv``, made here: ``tsb-ad`` 1.5 pins
  numpy<2 and scikit-learn<1.6): for each saved series, TSB-AD's ``get_metrics``
  on aekit's scores and on the scores of TSB-AD's own detectors, run through
  its ``run_Unsupervise_AD`` / ``run_Semisupervise_AD`` with the
  hyperparameters of its ``Optimal_Uni_algo_HP_dict`` (what its
  ``Run_Detector_U.py`` uses). Semi-supervised detectors train on the training
  part; unsupervised ones score the whole series without it, as TSB-AD does.
  Scores are min-max scaled and thresholded at mean + 3 std for the F1 figures
  (the wheel's ``main.py``); VUS uses ``find_length_rank(series, rank=1)``.

The peers of ``bench/series_nab.py`` (``--series-nab-peers``: Sub-PCA, PyOD's
IForest, AutoEncoder and PCA on aekit's window rule, fitted on the training
part) are saved beside aekit's scores and judged by the same ``get_metrics``
(rows ``sn-<name>``), so both benchmarks' peers meet one metric. So are the
scores ``bench/series_tsbad_peers.py`` saves beside them (``EXTRA``:
dtaianomaly's AutoEncoder, LSTM, CNN and Transformer; PyOD's TimeSeriesOD
AutoEncoder, LSTMAD and MatrixProfile).

Families: ``nab-tuning`` / ``nab-held`` (``series_nab.split_files``; train on
the anomaly-free prefix by ``series_nab.load``'s rule) and ``gutentag-tuning``
/ ``gutentag-held`` (``series_gutentag.family``; train on GutenTAG's
anomaly-free training series, score its test series).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/series_tsbad.py run \
        --family nab-held
    .venv/bin/python bench/series_tsbad.py report --family nab-held

Results are appended per (series, method) to
``bench/out/tsbad/results/<family>.jsonl``; a rerun skips pairs already there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from peer_venv import build_venv

OUT = Path("bench/out/tsbad")
VENV = OUT / "venv"
SEMI = ("AutoEncoder", "CNN", "LSTMAD", "USAD", "OmniAnomaly")
UNSUP = ("Sub_PCA", "IForest", "PCA", "POLY", "MatrixProfile", "KShapeAD")
PEERS = ",".join(UNSUP + SEMI)
FAMILIES = ("nab-tuning", "nab-held", "gutentag-tuning", "gutentag-held")
EXTRA = (  # series_tsbad_peers.py's, judged when saved
    "pyod-tsod-ae",
    "dtai-ae",
    "pyod-lstmad",
    "pyod-mp",
    "dtai-lstm",
    "dtai-cnn",
    "dtai-transformer",
)


# -- the TSB-AD environment ------------------------------------------------------------


def make_venv() -> None:
    """Create bench/out/tsbad/venv with tsb-ad 1.5 on the local CPU torch wheel
    (torch pinned first and on the tsb-ad command line, so nothing pulls a
    CUDA build)."""
    build_venv(VENV, ["numpy<2", "scikit-learn<1.6", "tsb-ad==1.5"], OUT)


# -- aekit side (.venv) ----------------------------------------------------------------


def family_series(family: str):
    """(name, training values, scored values, labels) of every series of
    ``family`` that has at least one labelled point."""
    if family.startswith("nab"):
        import series_nab

        windows = json.loads((series_nab.DATA / "combined_windows.json").read_text())
        for name in series_nab.split_files(family.split("-")[1]):
            x, labels, n_train = series_nab.load(name, windows)
            if labels.any():
                yield name, x[:n_train], x, labels
    else:
        import series_gutentag

        yield from series_gutentag.family(family.split("-")[1])


def npz_path(family: str, name: str) -> Path:
    return OUT / "series" / family / (name.replace("/", "__") + ".npz")


def source_version() -> str:
    """The commit aekit was run from, "+dirty" when src/ had changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True)
    return head.stdout.decode().strip() + ("+dirty" if dirty.stdout.strip() else "")


def save_aekit(family: str, limit: int | None, peers: list[str]) -> None:
    """Fit aekit at its defaults on each series' training part, score the
    scored series, save both with the labels; add the scores of
    bench/series_nab.py's ``peers`` (as ``peer__<name>``) where missing."""
    import torch

    torch.set_num_threads(1)
    for i, (name, train, values, labels) in enumerate(family_series(family)):
        if limit is not None and i >= limit:
            break
        path = npz_path(family, name)
        saved = dict(np.load(path)) if path.exists() else {}
        if not saved:
            saved = dict(name=name, values=values, labels=labels, train=train)
            saved.update(aekit_scores(train, values), n_train=len(train))
            print(f"aekit {name}: window {saved['window']}", flush=True)
        missing = [p for p in peers if f"peer__{p}" not in saved]
        for peer in missing:
            saved[f"peer__{peer}"] = series_nab_peer(peer, train, values)
        if missing or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **saved)


def aekit_scores(train: np.ndarray, values: np.ndarray) -> dict:
    import aekit

    start = time.perf_counter()
    det = aekit.SeriesDetector(random_state=0, device="cpu").fit(train)
    scores, predicted = det.decision_function(values), det.predict(values)
    seconds = time.perf_counter() - start
    return dict(
        scores=scores,
        predicted=predicted,
        window=det.window_,
        seconds=seconds,
        source=source_version(),
    )


def series_nab_peer(peer: str, train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Point scores of one of bench/series_nab.py's peers (its windows: aekit's
    window rule on the training part, centred mapping), fitted on ``train``."""
    from series_nab import finite_scores, run_split

    return finite_scores(run_split(peer, train, values)[0])


# -- TSB-AD side (its venv) ------------------------------------------------------------


def seed_all(seed: int = 2024) -> None:
    """TSB-AD's seeding (Run_Detector_U.py), repeated before every detector so a
    result does not depend on the order of runs."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)


def tsbad_scores(method: str, train: np.ndarray, values: np.ndarray) -> np.ndarray:
    from TSB_AD.HP_list import Optimal_Uni_algo_HP_dict
    from TSB_AD.model_wrapper import run_Semisupervise_AD, run_Unsupervise_AD

    hp = Optimal_Uni_algo_HP_dict.get(method, {})  # PCA has none: wrapper defaults
    seed_all()
    quiet = io.StringIO()  # the deep models print a progress bar per batch
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        if method in SEMI:
            out = run_Semisupervise_AD(method, train[:, None], values[:, None], **hp)
        else:
            out = run_Unsupervise_AD(method, values[:, None], **hp)
    if not isinstance(out, np.ndarray):  # the dispatcher hides the error: show it
        from TSB_AD import model_wrapper

        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            wrapper = getattr(model_wrapper, f"run_{method}")
            args = (
                (train[:, None], values[:, None])
                if method in SEMI
                else (values[:, None],)
            )
            wrapper(*args, **hp)
        raise RuntimeError(str(out))
    return np.asarray(out, np.float64).ravel()


def tsbad_metrics(scores, labels, window, predicted=None) -> dict:
    """TSB-AD's get_metrics on min-max scaled scores; the F1 figures at
    mean + 3 std of the scaled scores (its main.py), or at ``predicted``."""
    from TSB_AD.evaluation.metrics import get_metrics

    finite = scores[np.isfinite(scores)]
    top, low = (finite.max(), finite.min()) if finite.size else (0.0, 0.0)
    scores = np.nan_to_num(scores, nan=top, posinf=top, neginf=low)
    span = scores.max() - scores.min()
    scaled = (scores - scores.min()) / span if span > 0 else scores * 0.0
    pred = scaled > scaled.mean() + 3 * scaled.std() if predicted is None else predicted
    out = get_metrics(scaled, labels, slidingWindow=window, pred=pred.astype(bool))
    out["n_nonfinite"] = int(scores.size - finite.size)
    out["false_alarm"] = float(np.mean(pred[labels == 0]))
    out["missed"] = float(1 - np.mean(pred[labels == 1]))
    return {k: float(v) for k, v in out.items()}


def done_pairs(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return {(r["series"], r["method"]) for r in rows}


def tsbad_side(family: str, methods: list[str]) -> None:
    """Score every saved series of ``family`` with TSB-AD's metric: aekit's
    saved scores (its own threshold for "aekit-own-threshold"), the ``EXTRA``
    peers' scores saved by series_tsbad_peers.py, and each of TSB-AD's
    ``methods``."""
    from TSB_AD.utils.slidingWindows import find_length_rank

    result = OUT / "results" / f"{family}.jsonl"
    result.parent.mkdir(parents=True, exist_ok=True)
    done = done_pairs(result)
    for path in sorted((OUT / "series" / family).glob("*.npz")):
        data = np.load(path)
        name, labels = str(data["name"]), data["labels"].astype(int)
        values, train = data["values"], data["train"]
        window = int(find_length_rank(values.reshape(-1, 1), rank=1))
        ours = [f"sn-{k[6:]}" for k in data.files if k.startswith("peer__")]
        extra = [m for m in EXTRA if path.with_suffix(f".{m}.json").exists()]
        for method in ["aekit", "aekit-own-threshold", *ours, *extra, *methods]:
            if (name, method) in done:
                continue
            row = {"series": name, "method": method, "tsbad_window": window}
            start = time.perf_counter()
            try:
                if method.startswith("sn-"):
                    scores, own = data[f"peer__{method[3:]}"], None
                    seconds = float("nan")  # not timed here (see series_nab.py)
                elif method in EXTRA:  # scored by series_tsbad_peers.py
                    note = json.loads(path.with_suffix(f".{method}.json").read_text())
                    if "error" in note:
                        raise RuntimeError(note["error"])
                    scores, own = np.load(path.with_suffix(f".{method}.npy")), None
                    seconds = float(note["seconds"])
                elif method.startswith("aekit"):
                    scores, seconds = data["scores"], float(data["seconds"])
                    own = data["predicted"].astype(bool) if "own" in method else None
                else:
                    scores, own = tsbad_scores(method, train, values), None
                    seconds = time.perf_counter() - start
                row.update(tsbad_metrics(scores, labels, window, own))
                if method in methods:
                    np.save(path.with_suffix(f".{method}.npy"), scores)
            except Exception as error:  # a peer that fails is reported, not fatal
                row["error"] = f"{type(error).__name__}: {error}"[:300]
                seconds = time.perf_counter() - start
            row["seconds"] = seconds
            with result.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


# -- report (.venv) --------------------------------------------------------------------


COLUMNS = ["VUS-PR", "AUC-PR", "AUC-ROC", "VUS-ROC", "Standard-F1", "false_alarm"]


def report(family: str) -> str:
    """Markdown: mean metrics per method (aekit first, the rest by VUS-PR),
    per-series VUS-PR, and our own series_nab.vus_pr on aekit's scores."""
    import pandas as pd

    rows = [json.loads(s) for s in (OUT / "results" / f"{family}.jsonl").open()]
    table = pd.DataFrame(rows)
    ok = table[table.get("error", pd.Series(index=table.index)).isna()]
    means = ok.groupby("method")[COLUMNS + ["missed", "seconds"]].mean()
    means.insert(0, "n", ok.groupby("method").size())
    first = ["aekit", "aekit-own-threshold"]
    ranked = means.sort_values("VUS-PR", ascending=False).index
    order = first + [m for m in ranked if m not in first]
    lines = [f"#### {family}: mean over series", "", markdown(means.loc[order])]
    wide = ok.pivot(index="series", columns="method", values="VUS-PR")
    wide = wide[[m for m in order if m in wide and m != "aekit-own-threshold"]]
    lines += ["", f"#### {family}: VUS-PR per series (TSB-AD's metric)", ""]
    lines += [markdown(wide)]
    if "error" in table:
        for _, r in table[table["error"].notna()].iterrows():
            lines.append(f"- failed: {r['series']} {r['method']}: {r['error']}")
    lines += ["", own_vus_line(family, ok)]
    return "\n".join(lines)


def markdown(frame) -> str:
    """A pandas frame as a markdown table, numbers to 3 decimals."""
    cells = [[frame.index.name or ""] + [str(c) for c in frame.columns]]
    for key, row in frame.astype(object).iterrows():
        cells.append([str(key)] + [_cell(v) for v in row])
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "---|" * len(cells[0]))
    return "\n".join(lines)


def _cell(value) -> str:
    if value != value:  # NaN: the method has no result there
        return ""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def own_vus_line(family: str, ok) -> str:
    """Mean of TSB-AD's VUS-PR and of series_nab.vus_pr on aekit's saved scores
    (ours with aekit's window as in series_nab.py, and with TSB-AD's window)."""
    import series_nab

    theirs, ours_aekit_w, ours_tsbad_w = [], [], []
    aekit_rows = ok[ok["method"] == "aekit"].set_index("series")
    for path in sorted((OUT / "series" / family).glob("*.npz")):
        data = np.load(path)
        name, labels, scores = str(data["name"]), data["labels"], data["scores"]
        theirs.append(aekit_rows.loc[name, "VUS-PR"])
        ours_aekit_w.append(series_nab.vus_pr(scores, labels, int(data["window"])))
        window = int(aekit_rows.loc[name, "tsbad_window"])
        ours_tsbad_w.append(series_nab.vus_pr(scores, labels, window))
    return (
        f"aekit's scores, mean VUS-PR over {len(theirs)} series: TSB-AD get_metrics "
        f"{np.mean(theirs):.3f}; our series_nab.vus_pr {np.mean(ours_aekit_w):.3f} "
        f"(aekit's window_ as buffer, as series_nab.py reports) / "
        f"{np.mean(ours_tsbad_w):.3f} (TSB-AD's find_length_rank window)."
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=("run", "setup", "aekit", "tsbad", "report"))
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--methods", default=PEERS, help="TSB-AD detector names")
    parser.add_argument(
        "--series-nab-peers",
        default="subpca,iforest,pyod-ae,pyod-pca",
        help="bench/series_nab.py peers whose scores TSB-AD's metric also judges",
    )
    parser.add_argument("--limit", type=int, help="first LIMIT series only (smoke)")
    args = parser.parse_args()
    if args.step in ("run", "setup"):
        make_venv()
    peers = [p for p in args.series_nab_peers.split(",") if p]
    if args.step in ("run", "aekit"):
        save_aekit(args.family, args.limit, peers)
    if args.step == "tsbad":
        tsbad_side(args.family, [m for m in args.methods.split(",") if m])
    if args.step == "run":
        env = dict(os.environ, OMP_NUM_THREADS="1")
        command = [str(VENV / "bin" / "python"), __file__, "tsbad"]
        command += ["--family", args.family, "--methods", args.methods]
        subprocess.run(command, check=True, env=env)
    if args.step in ("run", "report"):
        print(report(args.family))


if __name__ == "__main__":
    main()
