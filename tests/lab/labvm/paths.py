"""Where the lab keeps its cache (built images) and its labs (running VMs)."""

import os


def cache_root():
    """Built base images, keyed by recipe hash.  Survives checkouts: CI builds once a machine."""
    return os.environ.get('RESILIENCE_LAB_CACHE', '/var/cache/resilience-dr')


def labs_root():
    """One directory a lab: disks, keys, logs and state.json with the recorded pids."""
    return os.environ.get('RESILIENCE_LAB_ROOT', '/var/tmp/resilience-dr/labs')
