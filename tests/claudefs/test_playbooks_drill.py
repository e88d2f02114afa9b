"""The ClaudeFS half of the DR drill (issue 16) end to end: roles/claudefs_drill against a live
emulator and a scratch emulator that reads the live one's S3 read-only (``cfsemu up --s3-from``).

Passing: files written, a snapshot taken by the cluster, more files written and one overwritten
after it; the drill restores the newest snapshot into the scratch cluster, checks it, compares
counts and checksums with the live cluster and reads a rotating sample back; the live cluster
is unchanged afterwards (leaders, terms, files, its bucket) and the scratch cluster is empty.
Failing: the newest snapshot in S3 is damaged; the drill fails, names it and its time, and
still resets the scratch cluster (which a former drill had left a file on).
"""

import json
import os
import time

import pytest

from cfscheck.history import History
from cfscheck.workload import Files

from cfs_helpers import shard_table, wait_for
from cfs_playbooks import REPO, run_playbook
from cfs_snapshots import bucket_dir, plant_bad_snapshots

pytestmark = pytest.mark.claudefs

PLAYBOOK = os.path.join(REPO, 'tests', 'claudefs', 'playbooks', 'cfs-drill.yml')


def uploaded(client):
    queue = client.json_ok('GET', '/v1/s3/queue')
    return queue['depth'] == 0 and all(n.get('journal_pending') in (0, None)
                                       for n in queue['nodes'])


def drill_vars(scratch, result_file, **extra):
    doc = scratch.doc
    values = {'claudefs_drill_scratch_endpoints': [
        'http://%s:%d' % (doc['nodes'][n]['address'], doc['admin_port']) for n in doc['nodes']],
        'claudefs_drill_scratch_token': doc['admin_token'],
        'claudefs_drill_scratch_state_dir': scratch.state_dir,
        'claudefs_drill_test_result_file': str(result_file)}
    values.update(extra)
    return values


def live_state(em):
    """What the drill must not change: leaders and terms, every file, the bucket, the faults."""
    client = em.client('a1', timeout=10)
    table = shard_table(client)
    files = client.json_ok('GET', '/v1/files')['files']
    bucket = []
    for root, _dirs, names in os.walk(bucket_dir(em)):
        for name in names:
            path = os.path.join(root, name)
            bucket.append((os.path.relpath(path, bucket_dir(em)), os.path.getsize(path)))
    faults = os.path.join(em.state_dir, 'faults.jsonl')
    return {'shards': {key: (s['leader'], s['term'], s.get('epoch')) for key, s in table.items()},
            'files': {f['path']: (f['sha256'], f['seq']) for f in files},
            'bucket': sorted(bucket),
            'faults': open(faults).read() if os.path.exists(faults) else '',
            'pids': {n: em.cluster.pid(n) for n in em.nodes()}}


def scratch_files(scratch):
    return scratch.client('a1', timeout=10).json_ok('GET', '/v1/files')['files']


def checks_of(result):
    return {c['name']: c for c in result['checks']}


def test_drill_restores_into_the_scratch_cluster_and_leaves_the_live_one_alone(
        cluster_factory, seed, tmp_path):
    live = cluster_factory()
    scratch = cluster_factory(sites=1, s3_from=live.state_dir)
    client = live.client('a1', timeout=10)
    history = History(seed=seed, meta={'test': 'drill'})
    before = Files(history, 'drill/before', seed=seed)
    assert set(before.write(client, 12)) == {'ok'}
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads before the snapshot')
    snapshot = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=60)
    after = Files(history, 'drill/after', seed=seed + 1)
    assert set(after.write(client, 4)) == {'ok'}
    overwritten = sorted(before.expected)[0]
    assert client.call('PUT', '/v1/files/' + overwritten, raw=b'changed after the snapshot').ok
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads after the snapshot')
    state = live_state(live)

    result_file = tmp_path / 'result.json'
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, live, drill_vars(scratch, result_file, claudefs_drill_sample=5,
                                                  claudefs_drill_rotation='5'))
    seconds = time.monotonic() - started
    assert run.rc == 0, run.output[-6000:]
    result = json.loads(result_file.read_text())
    checks = checks_of(result)
    assert [c['name'] for c in result['checks']] == [
        'scratch', 'restore', 'snapshot-age', 'consistency', 'file-count', 'checksums',
        'teardown'], result
    assert {c['status'] for c in result['checks']} == {'pass'}, result['checks']
    assert result['system'] == 'claudefs' and result['target'] == live.doc['name']
    assert result['backup']['location'] == snapshot['location']
    assert result['backup']['sha256'] == snapshot['sha256']
    assert result['backup']['time'] == time.strftime(
        '%Y-%m-%dT%H:%M:%SZ', time.gmtime(snapshot['manifest']['created']))
    metrics = result['metrics']
    # 12 in the snapshot; live: 16, of which 1 overwritten since: 11 compared, all equal
    assert metrics['snapshot_files'] == 12 and metrics['restored_files'] == 12, metrics
    assert metrics['live_files'] == 16 and metrics['files_changed_since'] == 5, metrics
    assert metrics['files_compared'] == 11, metrics
    # 11 files in slices of 5: 3 slices, rotation 5 reads the third
    assert metrics['checksums_sampled'] == 5 and metrics['checksums_slice'] == '3/3', metrics
    assert '11 compared, 11 equal, 0 missing' in checks['file-count']['detail']
    assert '5 of 5 files match' in checks['checksums']['detail']
    assert checks['consistency']['detail'].endswith('0 problem(s)')
    assert result['duration_seconds'] > 0 and result['started'] <= result['ended']

    assert live_state(live) == state, 'the drill changed the live cluster'
    assert scratch_files(scratch) == [], 'the scratch cluster was not torn down'
    report = run.report()
    verified = {v['check']: v for v in report['verified']}
    assert verified['ClaudeFS drill: checksums']['ok'] is True
    assert not report.get('warnings'), report.get('warnings')
    print('drill passed in %.1f s (playbook), %.1f s (role): %s' % (
        seconds, result['duration_seconds'], ', '.join(
            '%s %.1fs' % (c['name'], c['seconds']) for c in result['checks'])))


def test_drill_with_a_damaged_newest_snapshot_fails_names_it_and_still_tears_down(
        cluster_factory, seed, tmp_path):
    live = cluster_factory()
    scratch = cluster_factory(sites=1, s3_from=live.state_dir)
    client = live.client('a1', timeout=10)
    history = History(seed=seed, meta={'test': 'drill-damaged'})
    files = Files(history, 'drill/old', seed=seed)
    assert set(files.write(client, 6)) == {'ok'}
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads before the snapshot')
    good = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=60)
    planted = plant_bad_snapshots(live, good['location'])
    listing = client.json_ok('GET', '/v1/metadata/snapshots')['snapshots']
    newest = max(listing, key=lambda s: (s['modified'], s['location']))
    assert newest['location'] == planted['badmember']
    # a former drill that could not tear down left a file on the scratch cluster
    left = scratch.client('a1', timeout=10).call('PUT', '/v1/files/left/over', raw=b'left over')
    assert left.ok
    state = live_state(live)

    result_file = tmp_path / 'result.json'
    run = run_playbook(PLAYBOOK, live, drill_vars(scratch, result_file))
    assert run.rc == 0, run.output[-6000:]
    result = json.loads(result_file.read_text())
    checks = checks_of(result)
    assert [c['name'] for c in result['checks']] == ['scratch', 'restore', 'teardown'], result
    assert 'a former drill left 1 file(s): reset first' in checks['scratch']['detail']
    assert checks['restore']['status'] == 'fail'
    detail = checks['restore']['detail']
    assert detail.startswith('snapshot %s (taken %s) is unusable:' % (
        planted['badmember'], newest['modified'].split('.')[0] + 'Z')), detail
    assert 'shards/0.json' in detail, detail
    assert result['backup']['location'] == planted['badmember']
    assert result['backup']['id'] == planted['badmember'].rsplit('/', 1)[1]
    assert checks['teardown']['status'] == 'pass'
    assert scratch_files(scratch) == [], 'the scratch cluster was not torn down'
    assert live_state(live) == state, 'the drill changed the live cluster'
    report = run.report()
    verified = {v['check']: v for v in report['verified']}
    assert verified['ClaudeFS drill: restore']['ok'] is False

    # the gate for a standalone run: the role itself fails, naming the snapshot
    failing = run_playbook(PLAYBOOK, live, drill_vars(scratch, result_file,
                                                      claudefs_drill_fail=True))
    assert failing.rc != 0
    assert 'The ClaudeFS drill did not pass: restore: FAIL' in failing.output
    assert planted['badmember'] in failing.output
    assert scratch_files(scratch) == []
