"""The ``aekit compare-pca`` command: held-out reconstruction error of an
autoencoder next to PCA."""

from __future__ import annotations

import argparse

from aekit.cli._io import (
    DATA_HELP,
    Subcommands,
    add_drop_option,
    parse_sizes,
    read_data,
)
from aekit.compare import compare_with_pca
from aekit.estimators import Autoencoder


def add_commands(subparsers: Subcommands) -> None:
    """Add ``compare-pca`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser(
        "compare-pca", help="held-out reconstruction error: autoencoder vs PCA"
    )
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--latent-dim", type=int, required=True)
    p.add_argument("--hidden-dims", default="128,64")
    p.add_argument("--max-epochs", type=int, default=200)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--random-state", type=int, default=0)
    add_drop_option(p)
    p.set_defaults(run=cmd_compare_pca)


def cmd_compare_pca(args: argparse.Namespace) -> None:
    X = read_data(args.data, args.drop)
    model = Autoencoder(
        parse_sizes(args.hidden_dims),
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
