"""Checkers for the ClaudeFS conformance tests (pure Python, no emulator import).

- ``history``: a thread-safe recorder of client operations (unique values, invoke/complete
  times, outcome ok/fail/unknown), saved as JSON with the run's seed.
- ``setcheck``: Jepsen's set checker (lost, unexpected, recovered).
- ``linearizability``: a port of porcupine's checker (Wing & Gong search with Lowe's
  memoisation) for a per-key read/write register.
- ``raftinv``: Raft invariants over sampled raft-status answers.
"""
