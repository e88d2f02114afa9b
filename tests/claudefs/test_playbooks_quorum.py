"""cfs-recover-quorum.yml end to end against the emulator (issue 15).

Files with known checksums are written, and a client keeps writing while the cluster breaks
and recovers, logging every acknowledged write.  Two of site-a's three nodes are killed (the
runbook's majority quorum loss).  Then, as an operator would:

1. the playbook without the gate fails, names ``claudefs_quorum_allow_data_loss`` and the
   loss, and changes nothing (same epochs and members, the same shards without quorum);
   with the gate but ``--check`` it shows the plan and still changes nothing;
2. with the gate it force-leads from the survivor, two new nodes replace the dead ones, and
   it verifies quorum, three members per shard and every file's checksum;
3. a second run changes nothing;
4. the history checker: no acknowledged write lost except those the plan predicted, none
   present that was never written.
"""

import os
import time

import pytest

from cfscheck import setcheck
from cfscheck.history import History
from cfscheck.workload import Files, list_files

from cfs_helpers import shard_table, wait_for
from cfs_playbooks import Writer, phase_lines, reap_added_nodes, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


@pytest.fixture
def emu(fresh):
    """``fresh``, plus the nodes the playbook added stopped at the end (before its down)."""
    yield fresh
    assert all(reap_added_nodes(fresh).values()), 'a node the playbook added is still running'


SITE = 'site-a'


def epochs_and_members(client):
    return {shard: (s['epoch'], tuple(sorted(m['node'] for m in s['members'])), s['has_quorum'])
            for (site, shard), s in shard_table(client, SITE).items() if site == SITE}


def predicted_lost_files(history, plan):
    """Acknowledged writes whose (shard, seq) falls in a seq range the plan said may be lost."""
    ranges = {}
    for entry in plan:
        for survivor in entry.get('survivors', []):
            if survivor.get('node') == entry['chosen'] and survivor.get('predicted_loss_seq_range'):
                ranges[entry['shard']] = survivor['predicted_loss_seq_range']
    out = set()
    for op in history.ops:
        output = op.get('output') or {}
        if op['f'] != 'add' or op['outcome'] != 'ok' or not isinstance(output, dict):
            continue
        first_last = ranges.get(output.get('shard'))
        if first_last and first_last[0] <= output.get('seq', -1) <= first_last[1]:
            out.add(op['value'])
    return out


def test_quorum_loss_recovered_by_the_playbook(emu, seed, tmp_path):
    em = emu
    survivor = em.client('a1')
    history = History(seed=seed, meta={'test': 'playbook cfs-recover-quorum'})
    files = Files(history, 'dr/quorum', seed=seed)
    assert set(files.write(survivor, 40)) == {'ok'}
    manifest = write_manifest(str(tmp_path / 'manifest.json'), files.expected)

    writer = Writer(em.client('a1', timeout=2.0), history, 'dr/live')
    writer.start()
    try:
        em.cluster.kill('a2')
        em.cluster.kill('a3')
        wait_for(lambda: all(not q for _e, _m, q in epochs_and_members(survivor).values()),
                 30, 0.2, 'every site-a shard without quorum')
        wait_for(lambda: {n['name']: n['swim'] for n in survivor.json_ok('GET', '/v1/status')
                          ['nodes'] if n['name'] in ('a2', 'a3')} == {'a2': 'Dead', 'a3': 'Dead'},
                 30, 0.2, 'a2 and a3 declared Dead by SWIM')
        before = epochs_and_members(survivor)

        common = {'claudefs_quorum_site': SITE, 'claudefs_quorum_try_restart': False,
                  'claudefs_manifest': manifest}
        refused = run_playbook('cfs-recover-quorum.yml', em, common)
        assert refused.rc != 0
        assert 'claudefs_quorum_allow_data_loss=true' in refused.output
        assert 'Nothing was changed' in refused.output
        assert epochs_and_members(survivor) == before

        # The same plan the playbook's preflight reads (planning changes nothing).
        plan = survivor.json_ok('POST', '/v1/raft/force-leader/plan',
                                {'site': SITE, 'shards': 'all'})['shards']
        gated = dict(common, claudefs_quorum_allow_data_loss=True, claudefs_quorum_replacements=[
            {'name': 'a4', 'replaces': 'a2'}, {'name': 'a5', 'replaces': 'a3'}])
        # --check with the gate open: the plan (force-leader, joins), and still nothing changed
        checked = run_playbook('cfs-recover-quorum.yml', em, gated, check=True)
        assert checked.rc == 0, checked.output[-6000:]
        assert 'rebuild from a1' in checked.output
        assert epochs_and_members(survivor) == before

        started = time.monotonic()
        run = run_playbook('cfs-recover-quorum.yml', em, gated)
        recovery_seconds = time.monotonic() - started
        assert run.rc == 0, run.output[-6000:]
        assert run.changed > 0
    finally:
        writer.stop.set()
        writer.join(10)

    after = shard_table(em.client('a1'), SITE)
    for (site, shard), s in after.items():
        if site != SITE:
            continue
        assert s['has_quorum'] and s['leader'], (shard, s)
        members = sorted(m['node'] for m in s['members'] if m['reachable'])
        assert members == ['a1', 'a4', 'a5'], (shard, members)
        assert s['epoch'] > before[shard][0]

    verify = files.verify(em.client('a1'))
    assert verify['missing'] == [] and verify['corrupt'] == [] and verify['intact'] == 40

    report = run.report()
    assert report is not None and report.get('scenario') == 'cfs-quorum'
    graded = [v for v in report.get('verified', []) if v['check'] == 'ClaudeFS quorum recovery graded']
    assert graded and 'time to quorum' in graded[0]['detail'], report.get('verified')

    again = run_playbook('cfs-recover-quorum.yml', em, gated)
    assert again.rc == 0, again.output[-4000:]
    assert again.changed == 0, again.output[-4000:]

    present = {e['path'] if isinstance(e, dict) else e
               for prefix in ('dr/quorum', 'dr/live')
               for e in list_files(em.client('a1'), prefix)}
    result = setcheck.check_set(history.ops, present,
                                predicted_loss=predicted_lost_files(history, plan))
    history.save(os.path.join(run.report_dir, 'history-quorum.json'))
    assert result['valid'], setcheck.explain(result)
    print('quorum recovery: %.1f s (RTO target 1800 s on the guide, 120 s on this machine); '
          'phases: %s; live writes %d, %s' % (recovery_seconds, phase_lines(report),
                                              writer.count, setcheck.explain(result)))
