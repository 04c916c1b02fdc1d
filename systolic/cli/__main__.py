"""``python -m systolic.cli``: the same as the ``systolic`` command."""

import sys

from . import main

sys.exit(main())
