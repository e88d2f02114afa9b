"""The ClaudeFS checkers and emulator harness live under tests/lab/claudefs: import them."""

import os
import sys

LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   'lab', 'claudefs')
if LAB not in sys.path:
    sys.path.insert(0, LAB)
