"""The ``aekit`` command: parses arguments, reads files, calls the public API and
writes files and plots. Errors end with a one-line message and exit status 1."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aekit import persistence, plotting, registry
from aekit.cli_detect import add_detect_commands
from aekit.cli_images import (
    add_image_commands,
    read_image_input,
    read_table_or_images,
)
from aekit.cli_recsys import add_recsys_commands, read_ratings_input
from aekit.data import read_table
from aekit.exceptions import AekitError
from aekit.registry import get_estimator_class, registered_names

# Shortcut flags for common parameters: flag -> (parameter name, type).
SHORTCUTS = {
    "latent_dim": int,
    "hidden_dims": str,
    "max_epochs": int,
    "batch_size": int,
    "learning_rate": float,
    "activation": str,
    "loss": str,
    "optimizer": str,
    "noise": float,
    "sparsity": float,
    "contractive": float,
    "dropout": float,
    "scaling": str,
    "device": str,
    "random_state": int,
    "user_col": str,  # recommenders: ratings table columns
    "item_col": str,
    "rating_col": str,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            args.run(args)
    except (AekitError, FileNotFoundError, ValueError, TypeError, OSError) as exc:
        print(f"aekit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aekit", description="Autoencoders for tabular data and images."
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("demo", help="train on the bundled digits, compare with PCA")
    p.add_argument("--out", default="aekit-demo", help="output folder")
    p.add_argument("--latent-dim", type=int, default=8)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("train", help="train a model on a data file")
    p.add_argument("data", help="CSV, TSV, Parquet, NPY or NPZ file of numbers")
    p.add_argument("-o", "--output", required=True, help="model folder to write")
    p.add_argument("--model", default="autoencoder", choices=registered_names())
    p.add_argument("--drop", action="append", default=[], help="column to ignore")
    for name, kind in SHORTCUTS.items():
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, dest=name, type=kind, default=None)
    p.add_argument("--batch-norm", action="store_true", default=None)
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any model parameter, VALUE parsed as JSON (e.g. --param l2=1e-4)",
    )
    p.add_argument("--verbose", action="store_true", help="show a progress bar")
    p.add_argument("--plot", action="store_true", help="write loss_curve.png too")
    p.add_argument("--size", default=None, help="image models: resize to HxW")
    p.set_defaults(run=cmd_train)

    for name, helptext, func in (
        ("encode", "write the latent codes of each row", cmd_encode),
        ("reconstruct", "write the reconstruction of each row", cmd_reconstruct),
        ("score", "write the reconstruction error of each row", cmd_score),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("model", help="model folder written by 'aekit train'")
        p.add_argument("data", help="data file with the training columns")
        p.add_argument("-o", "--output", required=True, help=".csv, .parquet or .npy")
        p.add_argument("--drop", action="append", default=[], help="column to ignore")
        p.set_defaults(run=func)

    p = sub.add_parser("info", help="describe a saved model")
    p.add_argument("model", help="model folder")
    p.set_defaults(run=cmd_info)
    add_image_commands(sub)
    add_recsys_commands(sub)
    add_detect_commands(sub)
    return parser


def cmd_demo(args: argparse.Namespace) -> None:
    from aekit.demo import run_demo

    run_demo(args.out, latent_dim=args.latent_dim)


def model_params(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The estimator parameters set on the command line, checked against ``cls``."""
    accepted = set(inspect.signature(cls).parameters)
    params: dict[str, Any] = {}
    for name in [*SHORTCUTS, "batch_norm"]:
        value = getattr(args, name, None)
        if value is not None:
            params[name] = value
    if isinstance(params.get("hidden_dims"), str):
        params["hidden_dims"] = _parse_sizes(params["hidden_dims"])
    for item in args.param:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw  # a bare word such as cosine
    if args.verbose and "verbose" in accepted:
        params["verbose"] = True
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"model {registry.name_of(cls)!r} has no "
            f"parameter(s) {unknown}; "
            f"it takes: {', '.join(sorted(accepted))}"
        )
    return params


def _parse_sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError:
        raise ValueError(
            f"--hidden-dims expects comma-separated ints such as 128,64; got {text!r}"
        ) from None


def _read(path: str, drop: list[str]) -> pd.DataFrame | np.ndarray:
    X, columns = read_table(path, drop=drop)
    return X if columns is None else pd.DataFrame(X, columns=columns)


def _read_table_input(args: argparse.Namespace) -> Any:
    return _read(args.data, args.drop)


# How `aekit train` reads DATA, keyed by the model's registered input kind.
INPUT_READERS = {"table": _read_table_input}
INPUT_READERS["images"] = read_image_input
INPUT_READERS["any"] = read_table_or_images
INPUT_READERS["ratings"] = read_ratings_input


def cmd_train(args: argparse.Namespace) -> None:
    cls = get_estimator_class(args.model)
    estimator = cls(**model_params(args, cls))
    X = INPUT_READERS[registry.input_kind(cls)](args)
    estimator.fit(X)
    persistence.save(estimator, args.output)
    last = estimator.history_[-1]
    val = f", validation loss {last['val_loss']:.5g}" if "val_loss" in last else ""
    print(
        f"trained {args.model} on {len(X)} rows x {estimator.n_features_in_} columns: "
        f"{estimator.n_iter_} epochs (best {estimator.best_epoch_}), "
        f"loss {last['loss']:.5g}{val}; saved to {args.output}"
    )
    if args.plot:
        fig = plotting.loss_curve(estimator.history_, best_epoch=estimator.best_epoch_)
        fig.savefig(Path(args.output) / "loss_curve.png", dpi=100)


def _load_and_read(args: argparse.Namespace) -> tuple[Any, Any]:
    estimator = persistence.load(args.model)
    X = _read(args.data, args.drop)
    n_columns = X.shape[1]
    if n_columns != estimator.n_features_in_:
        raise ValueError(
            f"{args.data} has {n_columns} columns but the model in {args.model} was "
            f"trained on {estimator.n_features_in_}"
        )
    return estimator, X


def _write(table: pd.DataFrame, path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".npy":
        np.save(out, table.to_numpy())
    elif suffix in (".parquet", ".pq"):
        table.to_parquet(out, index=False)
    elif suffix in (".csv", ".txt", ""):
        table.to_csv(out, index=False)
    else:
        raise ValueError(f"unsupported output {out.name!r}: use .csv, .parquet or .npy")
    print(f"wrote {len(table)} rows to {out}")


def cmd_encode(args: argparse.Namespace) -> None:
    estimator, X = _load_and_read(args)
    codes = estimator.transform(X)
    names = [f"z{i}" for i in range(codes.shape[1])]
    _write(pd.DataFrame(codes, columns=names), args.output)


def cmd_reconstruct(args: argparse.Namespace) -> None:
    estimator, X = _load_and_read(args)
    columns = X.columns if isinstance(X, pd.DataFrame) else None
    _write(pd.DataFrame(estimator.reconstruct(X), columns=columns), args.output)


def cmd_score(args: argparse.Namespace) -> None:
    estimator, X = _load_and_read(args)
    errors = estimator.reconstruction_error(X)
    _write(pd.DataFrame({"reconstruction_error": errors}), args.output)


def cmd_info(args: argparse.Namespace) -> None:
    estimator = persistence.load(args.model)
    config = json.loads((Path(args.model) / persistence.CONFIG).read_text())
    print(f"model: {config['estimator']} ({type(estimator).__name__})")
    print(f"saved with: {config.get('versions')}")
    print(f"features in: {estimator.n_features_in_}")
    history = getattr(estimator, "history_", [])
    if history:
        last = history[estimator.best_epoch_ - 1]
        losses = ", ".join(
            f"{k} {last[k]:.5g}" for k in ("loss", "val_loss") if k in last
        )
        print(
            f"trained: {len(history)} epochs, best {estimator.best_epoch_} ({losses})"
        )
    print("parameters:")
    for name, value in sorted(estimator.get_params(deep=False).items()):
        print(f"  {name} = {value!r}")


if __name__ == "__main__":
    sys.exit(main())
