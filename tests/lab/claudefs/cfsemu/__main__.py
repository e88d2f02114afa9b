"""``python -m cfsemu ...`` (with tests/lab/claudefs on sys.path): see cfsemu.cli."""

import sys

from cfsemu.cli import main

sys.exit(main())
