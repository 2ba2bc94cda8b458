"""Two more autoencoder-family peers for ``bench/series_tsbad.py`` (issue 23).

- ``dtai-ae``: dtaianomaly's ``AutoEncoder`` at its defaults, with its own
  window rule ``window_size="fft"`` (the window has no default there) and
  ``seed=0``. dtaianomaly pulls sktime, tslearn, numba and stumpy, so it runs
  in its own environment, ``bench/out/dtai/venv``, made here on the local CPU
  torch wheel (torch pinned on every pip line so nothing pulls a CUDA build).
- ``pyod-tsod-ae``: PyOD's time-series wrapper ``TimeSeriesOD`` around its
  ``AutoEncoder`` (``pyod.models.ts_od``), all at their defaults (window 50,
  step 1, a point scored by the max over its windows, the AutoEncoder's own
  ``random_state=42``), run in the project's ``.venv`` with its PyOD.

Both fit on the training part saved in each series' ``.npz`` by
``series_tsbad.py`` and score the whole scored series, as the semi-supervised
peers there do. Scores go beside the ``.npz`` as ``<name>.<method>.npy`` with
``<name>.<method>.json`` (fit + score seconds, window); the ``.npz`` files,
which hold aekit's results, are only read. ``series_tsbad.py tsbad`` then
judges them with TSB-AD's ``get_metrics`` like every other row.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/series_tsbad_peers.py \
        run --family nab-held
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from series_tsbad import FAMILIES, OUT, VENV, report

DTAI = Path("bench/out/dtai")
DTAI_VENV = DTAI / "venv"
METHODS = ("pyod-tsod-ae", "dtai-ae")


def make_dtai_venv() -> None:
    """Create bench/out/dtai/venv with dtaianomaly 0.5.1 on torch 2.13.0."""
    python = DTAI_VENV / "bin" / "python"
    if python.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(DTAI_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, "dtaianomaly==0.5.1", "torch==2.13.0"], check=True)
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze"], check=True, capture_output=True
    )
    (DTAI / "freeze.txt").write_bytes(freeze.stdout)


def dtai_ae(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    """dtaianomaly's AutoEncoder, fitted on the 1-D training series (its "fft"
    rule takes shape (n,); on (n, 1) it raises a TypeError here). Where its
    training windows would leave a last batch of one, which its BatchNorm
    layers reject in training, the training series loses its first point(s)
    until they do not."""
    from dtaianomaly.anomaly_detection import AutoEncoder
    from dtaianomaly.windowing import compute_window_size

    det = AutoEncoder(window_size="fft", seed=0)
    trimmed = 0
    while (len(train) - compute_window_size(train, "fft")) % det.batch_size == 0:
        train, trimmed = train[1:], trimmed + 1
    det.fit(train)
    scores = det.decision_function(values)
    return scores, {"window": int(det.window_size_), "trimmed": trimmed}


def pyod_tsod_ae(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict]:
    from pyod.models.ts_od import TimeSeriesOD

    det = TimeSeriesOD(detector="AutoEncoder").fit(train)
    return det.decision_function(values), {"window": int(det.window_size)}


def score_family(family: str, method: str, limit: int | None) -> None:
    """Fit ``method`` on each saved series' training part, score the scored
    series, save the scores and a JSON note beside the series' ``.npz``."""
    import torch

    torch.set_num_threads(1)
    scorer = dtai_ae if method == "dtai-ae" else pyod_tsod_ae
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


def run(family: str, limit: int | None) -> None:
    """Both peers, then TSB-AD's metric on them (its venv), then the tables."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    score_family(family, "pyod-tsod-ae", limit)
    make_dtai_venv()
    here = ["--family", family] + ([] if limit is None else ["--limit", str(limit)])
    subprocess.run(
        [str(DTAI_VENV / "bin" / "python"), __file__, "score", "--method", "dtai-ae"]
        + here,
        check=True,
        env=env,
    )
    judge = [
        str(VENV / "bin" / "python"),
        str(Path(__file__).parent / "series_tsbad.py"),
    ]
    subprocess.run(
        [*judge, "tsbad", "--family", family, "--methods", ""], check=True, env=env
    )
    print(report(family))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=("run", "score"))
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--method", choices=METHODS, help="score step only")
    parser.add_argument("--limit", type=int, help="first LIMIT series only (smoke)")
    args = parser.parse_args()
    if args.step == "score":
        score_family(args.family, args.method, args.limit)
    else:
        run(args.family, args.limit)


if __name__ == "__main__":
    main()
