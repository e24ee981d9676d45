"""``python -m pipeline.datasets``: build a manifest CSV and print its summary."""

import sys

from .cli import main

sys.exit(main())
