"""More time-series peers for ``bench/series_tsbad.py`` (issue 23).

- ``dtai-ae``, ``dtai-lstm``, ``dtai-cnn``, ``dtai-transformer``:
  dtaianomaly's ``AutoEncoder``, ``LongShortTermMemoryNetwork``,
  ``ConvolutionalNeuralNetwork`` and ``Transformer`` at their defaults, with
  its own window rule ``window_size="fft"`` (the window has no default there)
  and ``seed=0``. dtaianomaly pulls sktime, tslearn, numba and stumpy, so it
  runs in its own environment, ``bench/out/dtai/venv``, made here on the local
  CPU torch wheel (torch pinned on every pip line so nothing pulls a CUDA
  build).
- ``pyod-tsod-ae``: PyOD's time-series wrapper ``TimeSeriesOD`` around its
  ``AutoEncoder`` (``pyod.models.ts_od``), all at their defaults (window 50,
  step 1, a point scored by the max over its windows, the AutoEncoder's own
  ``random_state=42``), run in the project's ``.venv`` with its PyOD.
- ``pyod-lstmad``: PyOD's ``LSTMAD`` (``pyod.models.ts_lstm``) at its defaults,
  torch's global generator seeded 0 (it has no seed parameter).
- ``pyod-mp``: PyOD's ``MatrixProfile`` (``pyod.models.ts_matrix_profile``) at
  its defaults; transductive, so fitted on the scored series itself.

All but ``pyod-mp`` fit on the training part saved in each series' ``.npz`` by
``series_tsbad.py`` and score the whole scored series, as the semi-supervised
peers there do. Scores go beside the ``.npz`` as ``<name>.<method>.npy`` with
``<name>.<method>.json`` (fit + score seconds, window); the ``.npz`` files,
which hold aekit's results, are only read. ``series_tsbad.py tsbad`` then
judges them with TSB-AD's ``get_metrics`` like every other row.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/series_tsbad_peers.py \
        run --family nab-held
    .venv/bin/python bench/series_tsbad_peers.py summary --family nab-held \
        --methods pyod-lstmad,pyod-mp,dtai-lstm,dtai-cnn,dtai-transformer
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
from series_tsbad import EXTRA, FAMILIES, OUT, VENV, report

DTAI = Path("bench/out/dtai")
DTAI_VENV = DTAI / "venv"
METHODS = tuple(EXTRA)


def make_dtai_venv() -> None:
    """Create bench/out/dtai/venv with dtaianomaly 0.5.1 on torch 2.13.0."""
    build_venv(DTAI_VENV, ["dtaianomaly==0.5.1"], DTAI)


def dtai_fit_score(det, train: np.ndarray, values: np.ndarray, one_left: int):
    """Fit a dtaianomaly detector on the 1-D training series (its "fft" rule
    takes shape (n,); on (n, 1) it raises a TypeError here) and score the
    scored series. ``one_left`` is the remainder of (n - window) by the batch
    size at which its training loader would end on a batch of one window,
    which BatchNorm layers reject in training; there the training series loses
    its first point(s) until it does not (-1: no BatchNorm, nothing trimmed)."""
    from dtaianomaly.windowing import compute_window_size

    trimmed = 0
    while (
        one_left >= 0
        and (len(train) - compute_window_size(train, "fft")) % det.batch_size
        == one_left
    ):
        train, trimmed = train[1:], trimmed + 1
    det.fit(train)
    scores = det.decision_function(values)
    return scores, {"window": int(det.window_size_), "trimmed": trimmed}


def dtai_ae(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    """dtaianomaly's AutoEncoder (reconstruction: n - window + 1 windows)."""
    from dtaianomaly.anomaly_detection import AutoEncoder

    return dtai_fit_score(AutoEncoder(window_size="fft", seed=0), train, values, 0)


def dtai_forecaster(name: str):
    """A scorer for one of dtaianomaly's forecasting networks at its defaults
    (forecast 1 point from the window before it). None needs a trim: the LSTM
    and Transformer have no BatchNorm, and the CNN's normalises over the
    window's length too, so a batch of one window trains."""

    def scorer(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
        from dtaianomaly import anomaly_detection as ad

        det = getattr(ad, name)(window_size="fft", seed=0)
        return dtai_fit_score(det, train, values, -1)

    return scorer


def pyod_tsod_ae(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    from pyod.models.ts_od import TimeSeriesOD

    det = TimeSeriesOD(detector="AutoEncoder").fit(train)
    return det.decision_function(values), {"window": int(det.window_size)}


def pyod_lstmad(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    """PyOD's LSTMAD at its defaults; it has no seed parameter and draws its
    weights and batch order from torch's global generator, seeded 0 here."""
    import torch
    from pyod.models.ts_lstm import LSTMAD

    torch.manual_seed(0)
    np.random.seed(0)
    det = LSTMAD().fit(train)
    return det.decision_function(values), {"window": int(det.window_size)}


def pyod_mp(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    """PyOD's MatrixProfile at its defaults. It is transductive (its
    decision_function raises NotImplementedError on new data), so it is fitted
    on the scored series and its own scores are kept, as TSB-AD's unsupervised
    detectors are run; the training part is not used."""
    from pyod.models.ts_matrix_profile import MatrixProfile

    det = MatrixProfile().fit(values)
    return det.decision_scores_, {"window": int(det.window_size)}


SCORERS = {
    "pyod-tsod-ae": pyod_tsod_ae,
    "pyod-lstmad": pyod_lstmad,
    "pyod-mp": pyod_mp,
    "dtai-ae": dtai_ae,
    "dtai-lstm": dtai_forecaster("LongShortTermMemoryNetwork"),
    "dtai-cnn": dtai_forecaster("ConvolutionalNeuralNetwork"),
    "dtai-transformer": dtai_forecaster("Transformer"),
}


def score_family(family: str, method: str, limit: int | None) -> None:
    """Fit ``method`` on each saved series' training part, score the scored
    series, save the scores and a JSON note beside the series' ``.npz``."""
    import torch

    torch.set_num_threads(1)
    scorer = SCORERS[method]
    paths = sorted((OUT / "series" / family).glob("*.npz"))
    for path in paths[:limit]:
        target = path.with_suffix(f".{method}.npy")
        if target.exists():
            continue
        data = np.load(path)
        train, values = data["train"].astype(float), data["values"].astype(float)
        note: dict = {"method": method, "n_train": len(train), "n": len(values)}
        start = time.perf_counter()
        quiet = io.StringIO()  # PyOD's AutoEncoder prints a bar per epoch
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                scores, facts = scorer(train, values)
            note.update(facts)
            np.save(target, np.asarray(scores, np.float64).ravel())
        except Exception as error:  # a failing series is reported, not fatal
            note["error"] = f"{type(error).__name__}: {error}"[:300]
        note["seconds"] = time.perf_counter() - start
        target.with_suffix(".json").write_text(json.dumps(note))
        print(str(data["name"]), json.dumps(note), flush=True)


def run(family: str, limit: int | None, methods: list[str]) -> None:
    """The PyOD ``methods`` here, the dtaianomaly ones in their venv, then
    TSB-AD's metric on every saved score (its venv), then the tables."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for method in [m for m in methods if m.startswith("pyod-")]:
        score_family(family, method, limit)
    here = ["--family", family] + ([] if limit is None else ["--limit", str(limit)])
    for method in [m for m in methods if m.startswith("dtai-")]:
        make_dtai_venv()
        command = [str(DTAI_VENV / "bin" / "python"), __file__, "score"]
        subprocess.run([*command, "--method", method, *here], check=True, env=env)
    judge = [
        str(VENV / "bin" / "python"),
        str(Path(__file__).parent / "series_tsbad.py"),
    ]
    subprocess.run(
        [*judge, "tsbad", "--family", family, "--methods", ""], check=True, env=env
    )
    print(report(family))


# Autoencoder family as series-tsbad.md defines it (TSB-AD's deep detectors and
# the windowed PyOD AutoEncoders), with the neural peers scored here.
AE_FAMILY = (
    ("AutoEncoder", "CNN", "LSTMAD", "USAD", "OmniAnomaly", "sn-pyod-ae")
    + ("pyod-tsod-ae", "dtai-ae", "pyod-lstmad", "dtai-lstm", "dtai-cnn")
    + ("dtai-transformer",)
)


def summary(family: str, methods: list[str]) -> str:
    """Markdown: TSB-AD's VUS-PR and AUC-ROC means of aekit, ``methods``, the
    best autoencoder-family peer and the best peer of all, then the per-series
    VUS-PR of aekit and ``methods`` with dtaianomaly's fft window."""
    import pandas as pd

    from series_tsbad import markdown

    rows = [json.loads(s) for s in (OUT / "results" / f"{family}.jsonl").open()]
    table = pd.DataFrame(rows)
    ok = table[table.get("error", pd.Series(index=table.index)).isna()]
    means = ok.groupby("method")[["VUS-PR", "AUC-ROC", "seconds"]].mean()
    means.insert(0, "n", ok.groupby("method").size())
    below = ok[ok["AUC-ROC"] < 0.5].groupby("method").size()
    means["AUC-ROC < 0.5"] = below.reindex(means.index, fill_value=0)
    peers = means.drop(["aekit", "aekit-own-threshold"])
    best_ae = peers.loc[peers.index.isin(AE_FAMILY), "VUS-PR"].idxmax()
    shown = ["aekit", *methods, best_ae, peers["VUS-PR"].idxmax()]
    order = list(dict.fromkeys(m for m in shown if m in means.index))
    lines = [markdown(means.loc[order])]
    wide = ok.pivot(index="series", columns="method", values="VUS-PR")
    wide = wide[[m for m in ["aekit", *methods] if m in wide]]
    windows = {}  # dtaianomaly's fft window: one per series for its forecasters
    for path in sorted((OUT / "series" / family).glob("*.npz")):
        note = path.with_suffix(".dtai-lstm.json")
        if note.exists():
            windows[str(np.load(path)["name"])] = json.loads(note.read_text())["window"]
    if windows:
        wide["dtai window"] = [windows.get(k) for k in wide.index]
    lines += ["", markdown(wide)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=("run", "score", "summary"))
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--method", choices=METHODS, help="score step only")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="run step: comma-separated"
    )
    parser.add_argument("--limit", type=int, help="first LIMIT series only (smoke)")
    args = parser.parse_args()
    if args.step == "score":
        score_family(args.family, args.method, args.limit)
    elif args.step == "summary":
        print(summary(args.family, [m for m in args.methods.split(",") if m]))
    else:
        methods = [m for m in args.methods.split(",") if m]
        unknown = sorted(set(methods) - set(METHODS))
        if unknown:
            parser.error(f"--methods: unknown {unknown}; allowed: {list(METHODS)}")
        run(args.family, args.limit, methods)


if __name__ == "__main__":
    main()
