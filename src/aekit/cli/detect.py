"""The anomaly detection command of ``aekit``: ``detect`` (anomaly score and label
per row)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from aekit import persistence, plotting
from aekit.cli import _labels, series
from aekit.cli._io import (
    OUTPUT_HELP,
    TABLE_HELP,
    Subcommands,
    add_drop_option,
    write_table,
)
from aekit.estimators import AnomalyDetector


def add_commands(subparsers: Subcommands) -> None:
    """Add ``detect`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser("detect", help="anomaly score and 0/1 label of each row")
    p.add_argument("data", help=TABLE_HELP)
    p.add_argument("-o", "--output", required=True, help=OUTPUT_HELP)
    p.add_argument(
        "--contamination",
        default=None,
        help="expected fraction of anomalies, or 'auto' (a cut from the training "
        "scores: between two groups of scores where a mixture finds them, else "
        "two standard deviations above the mean; see docs/anomaly.md); "
        "default 0.1, with --series 'control'",
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
    p.add_argument(
        "--code-distance",
        choices=("mahalanobis", "knn"),
        default="mahalanobis",
        help="the code's distance from the normal rows' codes: from their mean "
        "(Mahalanobis), or to the nearest of them (knn: for normal rows in "
        "several clusters)",
    )
    p.add_argument("--model-dir", help="also save the fitted detector here")
    p.add_argument("--plot", help="write a score histogram with the threshold")
    p.add_argument("--random-state", type=int, default=0)
    add_drop_option(p)
    _labels.add_options(p)
    series.add_options(p)
    p.set_defaults(run=cmd_detect)


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
    if args.series:
        return series.cmd_detect_series(args)
    X, y = _labels.read_features_and_labels(args)
    default = "auto" if y is not None else "0.1"  # the labels set the threshold
    detector = AnomalyDetector(
        contamination=_contamination(args.contamination or default),
        trim=args.trim,
        latent_distance=not args.reconstruction_only,
        code_distance=args.code_distance,
        random_state=args.random_state,
    ).fit(X, y)
    table = pd.DataFrame(
        {"score": detector.decision_scores_, "label": detector.labels_}
    )
    rule = f"threshold {detector.threshold_:.5g}"
    if args.fdr is not None:
        table["p_value"], table["label"] = _labels.conformal_labels(detector, X, args)
        rule = f"Benjamini-Hochberg at FDR {args.fdr:g}"
    write_table(table, args.output)
    print(f"{int(table['label'].sum())} of {len(X)} rows flagged as anomalies ({rule})")
    if hasattr(detector, "contamination_estimate_"):
        low, high = detector.contamination_interval_
        print(
            f"anomaly rate with the labels: {detector.contamination_estimate_:.3g} "
            f"(the labels' rate {detector.label_rate_:.3g}, 95% interval "
            f"{low:.3g}-{high:.3g}, blended with the label-free rule's)"
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
