"""The ``aekit`` command line (console script ``aekit = "aekit.cli:main"``).

`main` builds the parser and runs a command; each command module (`models`,
`images`, `recsys`, `detect`, `compare`, `export`) adds its subcommands through
``add_commands`` and shares file and option helpers from `aekit.cli._io`."""

from aekit.cli.main import main

__all__ = ["main"]
