"""ClaudeFS conformance tests: the emulator's harness and checkers on sys.path."""

import os
import sys

LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lab', 'claudefs')
if LAB not in sys.path:
    sys.path.insert(0, LAB)
