"""``python -m aiocases.cli``: the ``aiocases`` command."""

import sys

from aiocases.cli import main

sys.exit(main())
