"""cfs-resolve-conflicts.yml end to end against the emulator (issue 16).

A partition with writes on both sides (site-b promoted while cut off, site-a still writing),
the same two files written on each side, then the heal: both sites record the conflicts.
The playbook without its gate lists them and changes nothing; with the gate and one manual
choice (the LWW loser of y made the winner) it resolves everything, the sites converge, the
report lists every conflict and its resolution, and a second run changes nothing. The
history checker: every acknowledged unique file on both sites, nothing never written.
"""

import time

import pytest

from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files, read_file, write_file

from cfs_helpers import wait_for
from cfs_playbooks import run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


def _put(client, history, process, name, text):
    outcome, response = write_file(client, history, process, name, text.encode(), timeout=10)
    assert outcome == 'ok', response
    return response.json


def test_partition_with_writes_on_both_sides_resolved_by_the_playbook(fresh, seed, tmp_path):
    em = fresh
    site_a, site_b = sorted(em.doc['sites'])
    a, b = em.client(em.nodes(site_a)[0], timeout=10), em.client(em.nodes(site_b)[0], timeout=10)
    history = History(seed=seed, meta={'test': 'resolve-conflicts'})
    base = Files(history, 'cf/%d/base' % seed, seed=seed)
    assert set(base.write(a, 10)) == {'ok'}
    x, y = 'cf/%d/x' % seed, 'cf/%d/y' % seed
    _put(a, history, 0, x, 'x-before')
    _put(a, history, 0, y, 'y-before')
    a.json_ok('POST', '/v1/replication/sync', {'source': site_a, 'target': site_b}, timeout=40)

    em.cluster.partition(site_a)
    wait_for(lambda: [link for link in b.json_ok('GET', '/v1/replication')['links']
                      if not link['reachable']], 20, what='site-b to lose site-a')
    b.json_ok('POST', '/v1/replication/failover',
              {'from': site_a, 'to': site_b, 'confirm_data_loss': True}, timeout=30)
    only_a = Files(history, 'cf/%d/only-a' % seed, seed=seed + 1)
    only_b = Files(history, 'cf/%d/only-b' % seed, seed=seed + 2)
    assert set(only_a.write(a, 3, process=1)) == {'ok'}
    assert set(only_b.write(b, 3, process=2)) == {'ok'}
    _put(a, history, 1, x, 'x-from-a')
    time.sleep(0.05)
    _put(b, history, 2, x, 'x-from-b')          # x: LWW picks site-b
    _put(b, history, 2, y, 'y-from-b')
    time.sleep(0.05)
    _put(a, history, 1, y, 'y-from-a')          # y: LWW picks site-a, the operator site-b
    em.cluster.heal()

    def recorded():
        listed = a.json_ok('GET', '/v1/conflicts')['conflicts']
        return listed if {x, y} <= {c['path'] for c in listed} else None
    listed = wait_for(recorded, 60, interval=1, what='conflicts for x and y recorded')
    inode_y = [c['inode'] for c in listed if c['path'] == y][0]
    manifest = write_manifest(str(tmp_path / 'manifest.json'), base.expected)
    extra = {'claudefs_manifest': manifest,
             'claudefs_conflicts_choices': [{'inode': inode_y, 'winner': site_b}]}

    gated = run_playbook('cfs-resolve-conflicts.yml', em, extra)
    assert gated.rc != 0 and 'claudefs_conflicts_resolve=true' in gated.output, \
        gated.output[-3000:]
    assert a.json_ok('GET', '/v1/conflicts')['unresolved'] > 0

    extra['claudefs_conflicts_resolve'] = True
    run = run_playbook('cfs-resolve-conflicts.yml', em, extra)
    assert run.rc == 0, run.output[-6000:]
    after = a.json_ok('GET', '/v1/conflicts')
    assert after['unresolved'] == 0
    winners = dict((c['path'], c['winner']) for c in after['conflicts'])
    assert winners[x] == site_b and winners[y] == site_b
    for client in (a, b):
        assert read_file(client, x, retry_for=10)[0] == b'x-from-b'
        assert read_file(client, y, retry_for=10)[0] == b'y-from-b'
    report = run.report()
    assert report['scenario'] == 'cfs-resolve-conflicts'
    listed_in_report = ' '.join(report.get('warnings') and [
        w if isinstance(w, str) else str(w) for w in report['warnings']] or [])
    for conflict in after['conflicts']:     # every conflict and its resolution
        assert conflict['path'] in listed_in_report, (conflict, report.get('warnings'))
    checks = {v['check']: v['ok'] for v in report.get('verified', [])}
    assert checks.get('ClaudeFS sites consistent') is True, report.get('verified')
    assert checks.get('ClaudeFS file checksums') is True, report.get('verified')

    unique = [op for op in history.ops if not op['value'] in (x, y)]
    for client in (a, b):
        present = base.present(client) | only_a.present(client) | only_b.present(client)
        result = check_set(unique, present)
        assert result['valid'], explain(result)
    print('resolve conflicts: playbook %.1f s (gated run %.1f s), %d conflict(s)' % (
        run.seconds, gated.seconds, len(after['conflicts'])))

    again = run_playbook('cfs-resolve-conflicts.yml', em, extra)
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
