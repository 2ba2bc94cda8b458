"""The imputation command of ``aekit``: ``impute`` (a table with every missing
cell filled)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from aekit import persistence
from aekit.cli._io import (
    OUTPUT_HELP,
    TABLE_HELP,
    Subcommands,
    add_drop_option,
    read_data,
    write_table,
)
from aekit.estimators import AutoencoderImputer


def add_commands(subparsers: Subcommands) -> None:
    """Add ``impute`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser("impute", help="fill the missing cells of a table")
    p.add_argument("data", help=TABLE_HELP)
    p.add_argument("-o", "--output", required=True, help=OUTPUT_HELP)
    p.add_argument(
        "--model-dir", help="also save the fitted imputer here (to reuse with --model)"
    )
    p.add_argument(
        "--model", help="use this saved imputer (or table autoencoder); no training"
    )
    p.add_argument("--random-state", type=int, default=0)
    add_drop_option(p)
    p.set_defaults(run=cmd_impute)


def cmd_impute(args: argparse.Namespace) -> None:
    X = read_data(args.data, args.drop, tables=True)
    if args.model:
        imputer = persistence.load(args.model)
    else:
        imputer = AutoencoderImputer(random_state=args.random_state).fit(X)
    if isinstance(imputer, AutoencoderImputer):
        filled = imputer.transform(X)
    elif hasattr(imputer, "impute"):
        filled = imputer.impute(X)
    else:
        raise ValueError(
            f"the model in {args.model} ({type(imputer).__name__}) cannot impute: "
            "use a folder saved by 'aekit impute --model-dir'"
        )
    write_table(pd.DataFrame(filled), args.output)
    print(f"filled {int(np.sum(pd.isna(X)))} missing cells")
    if args.model_dir:
        persistence.save(imputer, args.model_dir)
        print(f"saved the imputer to {args.model_dir}")
