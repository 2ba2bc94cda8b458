"""The model commands of ``aekit``: ``demo``, ``train``, ``encode``, ``reconstruct``,
``score`` and ``info``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aekit import persistence, plotting, registry
from aekit.cli import series
from aekit.cli._io import (
    DATA_HELP,
    INPUT_READERS,
    OUTPUT_HELP,
    SHORTCUTS,
    Subcommands,
    add_drop_option,
    model_params,
    read_data,
    read_for_model,
    write_chunks,
    write_table,
)
from aekit.data.chunks import ChunkedTable
from aekit.demo import run_demo
from aekit.estimators import SeriesDetector
from aekit.exceptions import AekitError
from aekit.training.distributed import is_main_process


def add_commands(subparsers: Subcommands) -> None:
    """Add ``demo``, ``train``, ``encode``, ``reconstruct``, ``score`` and
    ``info`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser(
        "demo", help="train on the bundled digits, compare with PCA"
    )
    p.add_argument("--out", default="aekit-demo", help="output folder")
    p.add_argument("--latent-dim", type=int, default=8)
    p.set_defaults(run=cmd_demo)

    _add_train(subparsers.add_parser("train", help="train a model on a data file"))

    for name, helptext, func in (
        ("encode", "write the latent codes of each row", cmd_encode),
        ("reconstruct", "write the reconstruction of each row", cmd_reconstruct),
        (
            "score",
            "write the reconstruction error of each row (a detector saved by "
            "'aekit detect --model-dir': its score and label)",
            cmd_score,
        ),
    ):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("model", help="model folder written by 'aekit train'")
        p.add_argument("data", help="data file with the training columns")
        p.add_argument("-o", "--output", required=True, help=OUTPUT_HELP)
        add_drop_option(p)
        p.set_defaults(run=func)

    p = subparsers.add_parser("info", help="describe a saved model")
    p.add_argument("model", help="model folder")
    p.set_defaults(run=cmd_info)


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("-o", "--output", required=True, help="model folder to write")
    p.add_argument(
        "--model", default="autoencoder", choices=registry.registered_names()
    )
    add_drop_option(p)
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
    p.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="train with N processes on this machine (launches torchrun; one per "
        "GPU on a GPU machine); see docs/distributed.md for several machines",
    )
    p.set_defaults(run=cmd_train)


def cmd_demo(args: argparse.Namespace) -> None:
    run_demo(args.out, latent_dim=args.latent_dim)


def cmd_train(args: argparse.Namespace) -> None:
    if args.nproc is not None:
        launch_torchrun(args.nproc, args.argv)
        return
    cls = registry.get_estimator_class(args.model)
    estimator = cls(**model_params(args, cls))
    X = INPUT_READERS[registry.input_kind(cls)](args)
    estimator.fit(X)
    persistence.save(estimator, args.output)
    if not is_main_process():  # distributed: rank 0 reports and plots
        return
    best = estimator.best_epoch_  # the weights kept (0: the start), as `info`
    kept = estimator.history_[best - 1] if best >= 1 else None
    if kept is None:
        losses = "kept the starting weights"
    else:
        val = f", validation loss {kept['val_loss']:.5g}" if "val_loss" in kept else ""
        losses = f"loss {kept['loss']:.5g}{val}"
    rows = sum(len(x) for x in X) if isinstance(X, list) else len(X)
    where = f"{len(X)} series, " if isinstance(X, list) else ""
    print(
        f"trained {args.model} on {where}{rows} rows x {estimator.n_features_in_} "
        f"columns: {estimator.n_iter_} epochs (best {best}), {losses}; saved to "
        f"{args.output}"
    )
    if args.plot:
        fig = plotting.loss_curve(estimator.history_, best_epoch=estimator.best_epoch_)
        fig.savefig(Path(args.output) / "loss_curve.png", dpi=100)


def launch_torchrun(nproc: int, argv: list[str]) -> None:
    """Run ``aekit`` with ``argv`` minus ``--nproc`` in ``nproc`` processes under
    torchrun on this machine (``python -m torch.distributed.run``); raises
    `AekitError` when a process fails."""
    if nproc < 1:
        raise ValueError(f"--nproc must be a positive integer, got {nproc}")
    rest = _without_nproc(argv)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", "-m", "aekit.cli", *rest]
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise AekitError(f"distributed training failed (torchrun exit status {status})")


def _without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``."""
    rest: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    return rest


def _load_and_read(args: argparse.Namespace, estimator: Any = None) -> tuple[Any, Any]:
    """The saved model (``estimator`` when loaded already) and DATA, read as
    `aekit train` and `aekit detect` read it: empty cells are missing values
    wherever the model takes tables. A model fitted on a mixed-type table reads
    the file whole (such tables do not stream); one fitted on complete numbers
    refuses empty cells and text with what to do instead."""
    if estimator is None:
        estimator = persistence.load(args.model)
    if _fitted_on_table(estimator):  # named columns, any type, empty cells
        return estimator, read_data(args.data, args.drop, tables=True)
    X = read_for_model(args.data, args.drop, estimator)
    _check_numbers(X, args)
    n_columns = X.shape[1]
    if n_columns != estimator.n_features_in_:
        raise ValueError(
            f"{args.data} has {n_columns} columns but the model in {args.model} was "
            f"trained on {estimator.n_features_in_}{_column_difference(X, estimator)}"
        )
    return estimator, X


def _column_difference(X: Any, estimator: Any) -> str:
    """The columns DATA lacks and has beyond the model's, where both have
    names ("" otherwise)."""
    fitted = getattr(estimator, "feature_names_in_", None)
    names = getattr(X, "columns", None)
    if fitted is None or names is None:
        return ""
    have, want = [str(c) for c in names], [str(c) for c in fitted]
    missing = [c for c in want if c not in have][:5]
    extra = [c for c in have if c not in want][:5]
    parts = [f"missing {missing}"] if missing else []
    parts += [f"extra {extra} (--drop them)"] if extra else []
    return f" ({'; '.join(parts)})" if parts else ""


def _fitted_on_table(estimator: Any) -> bool:
    """Whether a saved model (or a detector's autoencoder, ``model_``) was
    fitted on a mixed-type table, so takes text columns and empty cells."""
    inner = getattr(estimator, "model_", None)
    return any(getattr(m, "schema_", None) is not None for m in (estimator, inner))


def _autoencoder(estimator: Any, args: argparse.Namespace) -> Any:
    """What encodes and reconstructs rows for a saved model: the model itself,
    or the autoencoder of a detector saved by ``aekit detect --model-dir``."""
    for candidate in (estimator, getattr(estimator, "model_", None)):
        if hasattr(candidate, "transform") and hasattr(candidate, "reconstruct"):
            return candidate
    raise ValueError(
        f"the model in {args.model} ({type(estimator).__name__}) has no codes or "
        "reconstructions; 'aekit score' writes its scores"
    )


def _check_numbers(X: Any, args: argparse.Namespace) -> None:
    """Refuse text columns or empty cells for a model fitted on complete numbers
    (it has no way to take them), saying what to do instead."""
    if isinstance(X, np.ndarray):  # (a .npy or .npz read whole: NaN allowed)
        X = pd.DataFrame(X)
    if not isinstance(X, pd.DataFrame):  # chunked files: complete numbers only
        return
    remedy = (
        f"the model in {args.model} was fitted on complete numbers; fill the cells "
        "first (aekit impute), drop those rows or columns, or train the model on "
        "data with empty cells or text columns (it then learns to take them)"
    )
    text = [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if text:
        raise ValueError(
            f"{args.data} has non-numeric columns ({', '.join(text)}); " + remedy
        )
    holes = X.isna().to_numpy().any(axis=1)
    if holes.any():
        raise ValueError(
            f"{args.data} has empty cells in {int(holes.sum())} rows (first at row "
            f"{int(np.argmax(holes))}); " + remedy
        )


def _write_rows(
    X: Any, method: Any, args: argparse.Namespace, columns: Any = None
) -> None:
    """Write ``method(X)`` as a table whose column names are ``columns(output)``
    (default: the input's); data on disk a chunk at a time."""

    def part(x: Any) -> pd.DataFrame:
        out = method(x)
        names = x.columns if isinstance(x, pd.DataFrame) else None
        return pd.DataFrame(out, columns=columns(out) if columns else names)

    if isinstance(X, ChunkedTable):
        write_chunks((part(x) for x in X.frames()), len(X), args.output)
    else:
        write_table(part(X), args.output)


def cmd_encode(args: argparse.Namespace) -> None:
    estimator, X = _load_and_read(args)
    names = lambda codes: [f"z{i}" for i in range(codes.shape[1])]  # noqa: E731
    _write_rows(X, _autoencoder(estimator, args).transform, args, names)


def cmd_reconstruct(args: argparse.Namespace) -> None:
    estimator, X = _load_and_read(args)
    _write_rows(X, _autoencoder(estimator, args).reconstruct, args)


def cmd_score(args: argparse.Namespace) -> None:
    estimator = persistence.load(args.model)
    if isinstance(estimator, SeriesDetector):  # saved by `aekit detect --series`
        series.score_series(estimator, args)
        return
    if not hasattr(estimator, "reconstruction_error") and not hasattr(
        estimator, "decision_function"
    ):
        raise ValueError(
            f"the model in {args.model} ({type(estimator).__name__}) has no "
            "per-row score; for a recommender use 'aekit recommend'"
        )
    estimator, X = _load_and_read(args, estimator)
    if hasattr(estimator, "reconstruction_error"):
        _write_rows(
            X, estimator.reconstruction_error, args, lambda _: ["reconstruction_error"]
        )
        return
    # a detector saved by `aekit detect --model-dir`: its scores and labels, the
    # columns `aekit detect` writes for the rows it was fitted on
    scores = lambda x: _scores_and_labels(estimator, x)  # noqa: E731
    _write_rows(X, scores, args, lambda _: ["score", "label"])


def _scores_and_labels(detector: Any, X: Any) -> pd.DataFrame:
    scores = detector.decision_function(X)
    labels = (scores > detector.threshold_).astype(np.int64)  # (as `predict`)
    return pd.DataFrame({"score": scores, "label": labels})


def cmd_info(args: argparse.Namespace) -> None:
    estimator = persistence.load(args.model)
    config = json.loads((Path(args.model) / persistence.CONFIG).read_text())
    print(f"model: {config['estimator']} ({type(estimator).__name__})")
    print(f"saved with: {config.get('versions')}")
    print(f"features in: {estimator.n_features_in_}")
    history = getattr(estimator, "history_", [])
    if history and estimator.best_epoch_ == 0:
        print(f"trained: {len(history)} epochs, kept the starting weights (PCA)")
    elif history:
        last = history[estimator.best_epoch_ - 1]
        losses = ", ".join(
            f"{k} {last[k]:.5g}" for k in ("loss", "val_loss") if k in last
        )
        print(
            f"trained: {len(history)} epochs, best {estimator.best_epoch_} ({losses})"
        )
    resolved = getattr(estimator, "resolved_params_", None)
    if resolved:
        print("resolved from the data:")
        for name, value in resolved.items():
            print(f"  {name}_ = {value!r}")
    print("parameters:")
    for name, value in sorted(estimator.get_params(deep=False).items()):
        print(f"  {name} = {value!r}")
