"""``python -m aekit.cli``: the same as the ``aekit`` command."""

import sys

from aekit.cli.main import main

sys.exit(main())
