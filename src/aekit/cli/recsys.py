"""The recommender command of ``aekit``: ``recommend``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from aekit import persistence
from aekit.cli._io import Subcommands
from aekit.data.ratings import lookup, read_item_titles, read_ratings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``recommend`` to the ``aekit`` subcommands."""
    p = subparsers.add_parser(
        "recommend", help="top-k items for users of a recommender"
    )
    p.add_argument(
        "model", help="model folder (--model ease, multvae, multdae, recvae, autorec)"
    )
    p.add_argument("--user", action="append", default=[], help="a training user id")
    p.add_argument("--users-file", help="a file of training user ids, one a line")
    p.add_argument(
        "--history", help="a ratings file of users to fold in (MultVAE/MultDAE)"
    )
    p.add_argument("-k", type=int, default=10, help="items per user (default 10)")
    p.add_argument("--items", help="movies.csv (or u.item): print titles too")
    p.add_argument(
        "--include-seen", action="store_true", help="allow items already rated"
    )
    p.add_argument("-o", "--output", help="write the lists to a .csv file")
    p.set_defaults(run=cmd_recommend)


def read_user_ids(path: str, known: np.ndarray) -> list[str]:
    """User ids from a file, one a line (first CSV field); blank lines and lines
    starting with ``#`` are skipped, and a first line that is not a known id is
    taken for a header."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"users file not found: {file}")
    lines = [line.split(",")[0].strip() for line in file.read_text().splitlines()]
    ids = [line for line in lines if line and not line.startswith("#")]
    if ids and lookup(known, ids[:1])[0] < 0:
        ids = ids[1:]
    if not ids:
        raise ValueError(f"{file} lists no user ids")
    return ids


def cmd_recommend(args: argparse.Namespace) -> None:
    estimator = persistence.load(args.model)
    if not hasattr(estimator, "recommend"):
        raise ValueError(
            f"the model in {args.model} ({type(estimator).__name__}) is not a "
            "recommender; train one with --model ease, multvae, multdae, recvae "
            "or autorec"
        )
    users = list(args.user)
    if args.users_file:
        users += read_user_ids(args.users_file, estimator.user_ids_)
    if not users and not args.history:
        raise ValueError("name users with --user ID, --users-file or --history")
    exclude = not args.include_seen
    frames = []
    if users:
        rec = estimator.recommend(users, k=args.k, exclude_seen=exclude)
        frames.append(rec.to_frame())
    if args.history:
        rec = estimator.recommend(
            read_ratings(args.history), k=args.k, exclude_seen=exclude
        )
        frames.append(rec.to_frame())
    table = pd.concat(frames, ignore_index=True)
    if args.items:
        titles = read_item_titles(args.items)
        table["title"] = [titles.get(item, "") for item in table["item"].tolist()]
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"wrote {len(table)} rows to {args.output}")
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
