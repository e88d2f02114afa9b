#!/usr/bin/env python3
"""``python tests/lab/claudefs/cfsemu.py ...``: the cfsemu command without setting PYTHONPATH."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cfsemu.cli import main  # noqa: E402  (after the path set-up)

sys.exit(main())
