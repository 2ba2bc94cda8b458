"""The ``aekit compare-pca`` and ``aekit compare-recs`` commands: held-out
reconstruction error of an autoencoder next to PCA; top-k metrics of
recommenders on the same held-out users."""

from __future__ import annotations

import argparse

from aekit.cli._io import (
    DATA_HELP,
    Subcommands,
    add_drop_option,
    parse_sizes,
    read_data,
)
from aekit.compare import TOP_K_MODELS, compare_recommenders, compare_with_pca
from aekit.data.ratings import read_ratings
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

    p = subparsers.add_parser(
        "compare-recs",
        help="recommenders side by side: NDCG@k and Recall@k on held-out users",
    )
    p.add_argument(
        "data", help="ratings CSV/TSV with a header (user, item[, rating]) or u.data"
    )
    p.add_argument(
        "--models", nargs="+", default=["ease", "multvae", "recvae"],
        choices=TOP_K_MODELS, help="at their defaults (default: ease multvae recvae)",
    )  # fmt: skip
    p.add_argument("-k", type=int, nargs="+", default=[20, 100], help="list lengths")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--min-rating", type=float, help="rows rated below it are not clicks"
    )
    p.add_argument("--min-user-clicks", type=int, default=5)
    p.add_argument("--test-users", type=float, default=0.2)
    p.add_argument(
        "--fold-in",
        type=float,
        default=0.8,
        help="share of a held-out user's clicks seen",
    )
    p.add_argument("--random-state", type=int, default=0, help="seed of the split")
    p.add_argument("--user-col")
    p.add_argument("--item-col")
    p.add_argument("--rating-col")
    p.add_argument("-o", "--output", help="also write the table (.csv)")
    p.set_defaults(run=cmd_compare_recs)


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


def cmd_compare_recs(args: argparse.Namespace) -> None:
    result = compare_recommenders(
        read_ratings(args.data),
        args.models,
        k=args.k,
        seeds=args.seeds,
        min_rating=args.min_rating,
        min_user_clicks=args.min_user_clicks,
        test_users=args.test_users,
        fold_in=args.fold_in,
        user_col=args.user_col,
        item_col=args.item_col,
        rating_col=args.rating_col,
        random_state=args.random_state,
    )
    print(result.summary())
    if args.output:
        result.table.to_csv(args.output)
        print(f"wrote {args.output}")
