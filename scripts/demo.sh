#!/usr/bin/env bash
# The README's demo: boot the lab train server, provision it, write data, break its OS disk
# (reference layout: the NVMe with the OS and the cache dies too), run recover-os-disk.yml and
# print the recovery report.  Needs root (qemu, loop devices); installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
export RESILIENCE_LAB_OWNER=$$
python3 tests/lab/labctl.py gc >/dev/null
exec .venv/bin/python tests/lab/labctl.py demo "$@"
