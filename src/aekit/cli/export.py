"""The ``aekit export`` command: a saved model as an ONNX graph (see
`aekit.export`)."""

from __future__ import annotations

import argparse
import json

from aekit import persistence
from aekit.cli._io import Subcommands
from aekit.estimators import SeriesDetector
from aekit.export import DTYPES, read_metadata, to_onnx


def add_commands(subparsers: Subcommands) -> None:
    """Add ``export`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser(
        "export", help="write a saved model as an ONNX graph (aekit[onnx])"
    )
    p.add_argument(
        "model",
        help="model folder (autoencoder, conv, vae, convvae, detector, series)",
    )
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="precision of the graph (default: float64 for a detector, else float32)",
    )
    p.add_argument(
        "--points",
        action="store_true",
        help="a series detector: the whole scoring, a raw series in, a score and "
        "a 0/1 label per point out (default: windows in, window scores out)",
    )
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> None:
    estimator = persistence.load(args.model, device="cpu")
    if args.points and not isinstance(estimator, SeriesDetector):
        raise ValueError(
            f"--points exports a series detector's point scores; the model in "
            f"{args.model} is a {type(estimator).__name__}"
        )
    if args.points:
        path = estimator.to_onnx(args.output, dtype=args.dtype, points=True)
    else:
        path = to_onnx(estimator, args.output, dtype=args.dtype)
    meta = read_metadata(path)
    shape = ", ".join(str(n) for n in json.loads(meta["input_shape"]))
    outputs = ", ".join(json.loads(meta["outputs"]))
    print(
        f"wrote {path}: {meta['estimator_class']}, input {meta['input']} "
        f"({shape}) {meta['dtype']}; outputs {outputs}"
        + (f"; threshold {meta['threshold']}" if "threshold" in meta else "")
    )
