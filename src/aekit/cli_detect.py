"""``aekit detect`` (anomaly scores and labels per row) and ``aekit compare-pca``
(held-out reconstruction error of an autoencoder next to PCA)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from aekit import persistence, plotting


def add_detect_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``detect`` and ``compare-pca`` on the ``aekit`` sub-parsers."""
    p = sub.add_parser("detect", help="anomaly score and 0/1 label of each row")
    p.add_argument("data", help="CSV, TSV, Parquet, NPY or NPZ file of numbers")
    p.add_argument("-o", "--output", required=True, help=".csv, .parquet or .npy")
    p.add_argument(
        "--contamination",
        default="0.1",
        help="expected fraction of anomalies, or 'auto' (median/MAD rule)",
    )
    p.add_argument(
        "--trim",
        type=float,
        default=0.3,
        help="fraction of worst-reconstructed rows left out of the final fit",
    )
    p.add_argument(
        "--reconstruction-only",
        action="store_true",
        help="score by reconstruction error alone, without the code's distance",
    )
    p.add_argument("--model-dir", help="also save the fitted detector here")
    p.add_argument("--plot", help="write a score histogram with the threshold")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--drop", action="append", default=[], help="column to ignore")
    p.set_defaults(run=cmd_detect)

    p = sub.add_parser(
        "compare-pca", help="held-out reconstruction error: autoencoder vs PCA"
    )
    p.add_argument("data", help="CSV, TSV, Parquet, NPY or NPZ file of numbers")
    p.add_argument("--latent-dim", type=int, required=True)
    p.add_argument("--hidden-dims", default="128,64")
    p.add_argument("--max-epochs", type=int, default=200)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--drop", action="append", default=[], help="column to ignore")
    p.set_defaults(run=cmd_compare_pca)


def _contamination(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"--contamination expects a fraction such as 0.05 or 'auto', got {text!r}"
        ) from None


def cmd_detect(args: argparse.Namespace) -> None:
    from aekit.cli import _read, _write
    from aekit.estimators import AnomalyDetector

    X = _read(args.data, args.drop)
    detector = AnomalyDetector(
        contamination=_contamination(args.contamination),
        trim=args.trim,
        latent_distance=not args.reconstruction_only,
        random_state=args.random_state,
    ).fit(X)
    table = pd.DataFrame(
        {"score": detector.decision_scores_, "label": detector.labels_}
    )
    _write(table, args.output)
    print(
        f"{int(detector.labels_.sum())} of {len(X)} rows flagged as anomalies "
        f"(threshold {detector.threshold_:.5g})"
    )
    if args.model_dir:
        persistence.save(detector, args.model_dir)
        print(f"saved the detector to {args.model_dir}")
    if args.plot:
        fig = plotting.score_histogram(
            detector.decision_scores_, threshold=detector.threshold_
        )
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=100)
        print(f"wrote {args.plot}")


def cmd_compare_pca(args: argparse.Namespace) -> None:
    from aekit.cli import _parse_sizes, _read
    from aekit.compare import compare_with_pca
    from aekit.estimators import Autoencoder

    X = _read(args.data, args.drop)
    model = Autoencoder(
        _parse_sizes(args.hidden_dims),
        max_epochs=args.max_epochs,
        random_state=args.random_state,
    )
    result = compare_with_pca(
        X,
        args.latent_dim,
        model=model,
        test_size=args.test_size,
        random_state=args.random_state,
    )
    print(result.summary())
