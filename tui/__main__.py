"""``python -m mpscope.tui``: the same as the ``mpscope`` command."""

from __future__ import annotations

import sys

from mpscope.tui.cli import main

sys.exit(main())
