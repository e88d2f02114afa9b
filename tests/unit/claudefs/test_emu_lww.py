"""The last-write-wins rule and the conflict types."""

from cfsemu import lww


def version(site, ts, seq):
    return {'site': site, 'timestamp': ts, 'seq': seq}


def test_higher_timestamp_wins_whatever_the_sequence():
    assert lww.lww_winner(version('site-a', 2.0, 1), version('site-b', 1.0, 99)) == 'local'
    assert lww.lww_winner(version('site-a', 1.0, 99), version('site-b', 2.0, 1)) == 'remote'


def test_equal_timestamps_fall_back_to_the_higher_sequence():
    assert lww.lww_winner(version('site-a', 5.0, 3), version('site-b', 5.0, 4)) == 'remote'
    assert lww.lww_winner(version('site-a', 5.0, 4), version('site-b', 5.0, 3)) == 'local'


def test_a_full_tie_needs_a_manual_choice():
    kind, side = lww.classify(version('site-a', 5.0, 3), version('site-b', 5.0, 3))
    assert (kind, side) == (lww.MANUAL, None)


def test_both_sites_pick_the_same_winner():
    a, b = version('site-a', 7.5, 2), version('site-b', 7.25, 9)
    assert lww.lww_winner(a, b) == 'local' and lww.lww_winner(b, a) == 'remote'


def test_a_write_on_the_passive_site_after_the_failover_is_split_brain():
    # site-b became active at t=10; site-a (partitioned, still believing it was active) wrote
    # at t=12: whichever wins, the conflict is flagged SplitBrain
    kind, side = lww.classify(version('site-a', 12.0, 5), version('site-b', 11.0, 2),
                              active_site='site-b', active_since=10.0)
    assert (kind, side) == (lww.SPLIT_BRAIN, 'local')


def test_concurrent_writes_before_the_failover_are_plain_lww():
    kind, side = lww.classify(version('site-a', 8.0, 5), version('site-b', 11.0, 2),
                              active_site='site-b', active_since=10.0)
    assert (kind, side) == (lww.LWW_RESOLVED, 'remote')
