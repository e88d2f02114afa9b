"""Last-write-wins between two versions of one inode (pure; unit-tested).

A version is a dict with ``timestamp`` (float seconds), ``seq`` (the origin site's sequence) and
``site``.  The higher timestamp wins, then the higher sequence.  A full tie (same timestamp and
same sequence from different sites) cannot be decided: it needs a manual choice.
"""

LWW_RESOLVED = 'LwwResolved'
MANUAL = 'ManualResolutionRequired'
SPLIT_BRAIN = 'SplitBrain'


def lww_winner(local, remote):
    """Return 'local', 'remote' or None (full tie: manual resolution required)."""
    lkey = (float(local['timestamp']), int(local['seq']))
    rkey = (float(remote['timestamp']), int(remote['seq']))
    if lkey > rkey:
        return 'local'
    if rkey > lkey:
        return 'remote'
    return None


def written_while_passive(version, active_site, active_since):
    """True when ``version`` was written by a site after the other one had become active."""
    if active_site is None or active_since is None:
        return False
    return version['site'] != active_site and float(version['timestamp']) > float(active_since)


def classify(local, remote, active_site=None, active_since=None):
    """(type, winner side) of a conflict. winner side is 'local', 'remote' or None."""
    side = lww_winner(local, remote)
    if side is None:
        return MANUAL, None
    if written_while_passive(local, active_site, active_since) or \
            written_while_passive(remote, active_site, active_since):
        return SPLIT_BRAIN, side
    return LWW_RESOLVED, side
