"""The ``aekit`` command: builds the parser from the command modules, runs the
chosen command, and ends errors with a one-line message and exit status 1."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from aekit.cli import compare, detect, export, images, impute, models, recsys
from aekit.exceptions import AekitError
from aekit.training.distributed import end_launched_process

# The command modules, in the order their commands are listed in the help.
COMMAND_MODULES = (models, images, recsys, detect, impute, compare, export)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for a relaunch
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            warnings.formatwarning = _one_line  # (catch_warnings restores it)
            args.run(args)
        end_launched_process()  # under torchrun: leave once every rank is done
    except (
        AekitError,
        FileNotFoundError,
        ImportError,  # a missing optional extra, e.g. aekit[onnx] for export
        NotImplementedError,  # e.g. export of a model that has no graph
        ValueError,
        TypeError,
        OSError,
    ) as exc:
        print(f"aekit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130
    return 0


def _one_line(message: Any, category: Any, *args: Any, **kwargs: Any) -> str:
    """A warning as the command line shows it: one line, no source."""
    return f"aekit: warning: {message}\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aekit", description="Autoencoders for tabular data and images."
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(subparsers)
    return parser
