# -*- coding: utf-8 -*-
"""playbooks/dr-drill.yml end to end against real restic backups made by the real backup job.

A btrfs 'array' on a loop device with files of known sha256, the train_backups job (manifest
included) backing it up into a local repository, then ``ansible-playbook dr-drill.yml`` with a
train-only inventory (local connection): JSON + JUnit (parsed) + trend, the read-data-subset
rotating 1/3 -> 2/3, throughput metrics, the scratch directory gone. Then a damaged pack file:
the drill fails naming the snapshot and "since", still tears down, production untouched.
"""

import glob
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from btrfs_helpers import have_root_and_loops
from drill_helpers import RESTIC, sha256_tree, train_site
from restic_helpers import PASSWORD, REPO_ROOT, restic
from testlib import ansible_env, bin_path

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices')]

PLAYBOOK = os.path.join(REPO_ROOT, 'playbooks', 'dr-drill.yml')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    with train_site(tmp_path_factory.mktemp('drill')) as made:
        yield made


def run_drill(site, *options):
    started = time.monotonic()
    env = ansible_env({'RESILIENCE_DR_REPORT_DIR': str(site['report_dir']),
                       'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')    # ansible.cfg's: the recovery report records
    argv = [bin_path('ansible-playbook'), '-i', site['inventory'], PLAYBOOK,
            '-e', 'dr_drill_dir=%s' % site['drill_dir']] + list(options)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=900, check=False)
    assert PASSWORD not in proc.stdout + proc.stderr
    proc.seconds = time.monotonic() - started
    return proc


def newest(site, ext):
    files = sorted(glob.glob(str(site['drill_dir'] / ('dr-drill-*.' + ext))))
    return files[-1], len(files)


def trend(site):
    with open(str(site['drill_dir'] / 'trend.jsonl')) as handle:
        return [json.loads(line) for line in handle]


def production(site):
    snaps = json.loads(restic(RESTIC, site['repo'], 'snapshots', '--json').stdout)
    return (sha256_tree(site['storage']), sorted(s['id'] for s in snaps),
            sorted(os.listdir(os.path.join(site['repo'], 'data'))))


def test_check_mode_restores_nothing_and_writes_no_report(site):
    before = production(site)
    proc = run_drill(site, '--check')
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert 'check mode: would restore' in proc.stdout
    assert not os.path.exists(site['scratch']) and not os.path.exists(str(site['drill_dir']))
    assert production(site) == before


def test_drill_passes_and_rotates(site):
    before = production(site)
    first = run_drill(site)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    assert not os.path.exists(site['scratch'])          # torn down
    assert os.path.isdir(os.path.dirname(site['scratch']))
    json_path, count = newest(site, 'json')
    assert count == 1
    with open(json_path) as handle:
        doc = json.load(handle)
    assert doc['format'] == 'resilience.dr/dr-drill/v1' and doc['passed'] is True
    (target,) = doc['targets']
    assert (target['system'], target['target'], target['status']) == ('train', 'train1', 'pass')
    names = [c['name'] for c in target['checks']]
    assert names == ['backup-age', 'restore', 'manifest', 'read-data-subset', 'teardown']
    manifest = [c for c in target['checks'] if c['name'] == 'manifest'][0]
    assert 'match the manifest' in manifest['detail']
    metrics = target['metrics']
    assert metrics['read_data_subset'] == '1/3'
    assert metrics['restore_bytes_per_second'] > 0
    assert metrics['extrapolated_full_restore_seconds'] > 0
    assert metrics['full_restore_bytes'] >= metrics['restored_bytes'] > 0
    assert metrics['repository_raw_data_bytes'] > 0
    assert metrics['files_compared'] == metrics['manifest_files'] == metrics['checksums_sampled'] > 30
    snaps = json.loads(restic(RESTIC, site['repo'], 'snapshots', '--json').stdout)
    assert target['backup']['id'] == snaps[0]['id']

    xml_path = newest(site, 'xml')[0]
    suites = ET.parse(xml_path).getroot()
    assert suites.tag == 'testsuites' and suites.get('failures') == '0'
    (suite,) = suites.findall('testsuite')
    assert suite.get('name') == 'train/train1' and suite.get('tests') == '5'
    assert [c.get('name') for c in suite.findall('testcase')] == names
    props = dict((p.get('name'), p.get('value')) for p in suite.find('properties'))
    assert props['backup.id'] == snaps[0]['id'] and props['metric.read_data_subset'] == '1/3'

    # the recovery report got the verifications
    report_json = sorted(glob.glob(str(site['report_dir'] / 'dr-drill-*.json')))[-1]
    with open(report_json) as handle:
        report = json.load(handle)
    checks = dict((v['check'], v['ok']) for v in report['verified'])
    assert checks['train drill manifest'] is True and checks['drill train/train1'] is True

    second = run_drill(site)
    assert second.returncode == 0, second.stdout[-6000:]
    lines = trend(site)
    assert [line['metrics']['read_data_subset'] for line in lines] == ['1/3', '2/3']
    assert all(line['status'] == 'pass' for line in lines)
    assert production(site) == before                   # the drill changed nothing there
    print('drill: playbook %.1f s / %.1f s, train role %.1f s; %s; %.1f MB/s, %d bytes' % (
        first.seconds, second.seconds, target['duration_seconds'],
        ', '.join('%s %.2fs' % (c['name'], c['seconds']) for c in target['checks']),
        metrics['restore_bytes_per_second'] / 1e6, metrics['restored_bytes']))


def test_damaged_pack_fails_the_drill_naming_the_backup(site):
    before_tree = sha256_tree(site['storage'])
    snaps = json.loads(restic(RESTIC, site['repo'], 'snapshots', '--json').stdout)
    snap_id, snap_time = snaps[0]['id'], snaps[0]['time']
    # damage every data pack in the middle (restic's packs are read-only files)
    packs = glob.glob(os.path.join(site['repo'], 'data', '*', '*'))
    assert packs
    saved = {}
    for pack in packs:
        with open(pack, 'rb') as handle:
            saved[pack] = handle.read()
        os.chmod(pack, 0o600)
        with open(pack, 'r+b') as handle:
            handle.seek(len(saved[pack]) // 2)
            handle.write(b'\xff' * 64)
    try:
        proc = run_drill(site)
        assert proc.returncode != 0
        text = proc.stdout + proc.stderr
        assert 'DR drill FAILED' in text and snap_id in text and 'unusable since' in text
        assert not os.path.exists(site['scratch'])      # torn down after the failure
        json_path = newest(site, 'json')[0]
        with open(json_path) as handle:
            doc = json.load(handle)
        assert doc['passed'] is False
        (target,) = doc['targets']
        assert target['status'] == 'fail'
        verdict = target['verdict']
        assert verdict['usable'] is False and verdict['unusable_since'] == snap_time
        assert verdict['last_good']['backup_id'] == snap_id
        failed = dict((c['name'], c['detail']) for c in target['checks'] if c['status'] == 'fail')
        assert '[corrupt]' in failed['restore'], failed
        assert [c for c in target['checks'] if c['name'] == 'teardown'][0]['status'] == 'pass'
        suite = ET.parse(newest(site, 'xml')[0]).getroot().find('testsuite')
        assert int(suite.get('failures')) >= 1
        props = dict((p.get('name'), p.get('value')) for p in suite.find('properties'))
        assert props['unusable_since'] == snap_time
        assert trend(site)[-1]['status'] == 'fail'
        assert sha256_tree(site['storage']) == before_tree
    finally:
        for pack, data in saved.items():
            os.chmod(pack, 0o600)
            with open(pack, 'wb') as handle:
                handle.write(data)
            os.chmod(pack, 0o400)


def test_a_warning_fails_the_drill_after_the_files_are_written(site):
    runs = len(trend(site))
    proc = run_drill(site, '-e', 'train_drill_max_backup_age=0')
    assert proc.returncode != 0
    assert 'DR drill FAILED' in proc.stdout and 'backup-age:warn' in proc.stdout, proc.stdout[-5000:]
    with open(newest(site, 'json')[0]) as handle:
        doc = json.load(handle)
    (target,) = doc['targets']
    assert target['status'] == 'warn' and doc['passed'] is False
    statuses = dict((c['name'], c['status']) for c in target['checks'])
    assert statuses['backup-age'] == 'warn' and statuses['manifest'] == 'pass'
    failure = ET.parse(newest(site, 'xml')[0]).getroot().find('testsuite/testcase/failure')
    assert failure.get('type') == 'warn'
    assert len(trend(site)) == runs + 1 and trend(site)[-1]['status'] == 'warn'
    assert not os.path.exists(site['scratch'])


def test_foreign_scratch_dir_is_refused_and_left_alone(site):
    os.makedirs(site['scratch'])
    keep = os.path.join(site['scratch'], 'somebody-elses.txt')
    with open(keep, 'w') as handle:
        handle.write('not the drill\'s\n')
    try:
        proc = run_drill(site)
        assert proc.returncode != 0
        with open(newest(site, 'json')[0]) as handle:
            doc = json.load(handle)
        (target,) = doc['targets']
        scratch = [c for c in target['checks'] if c['name'] == 'scratch'][0]
        assert scratch['status'] == 'fail' and 'not a scratch directory' in scratch['detail']
        teardown = [c for c in target['checks'] if c['name'] == 'teardown'][0]
        assert teardown['status'] == 'pass' and 'left alone' in teardown['detail']
        assert 'did not get as far as a backup' in target['verdict']['message']
        assert os.path.exists(keep)                     # neither restored into nor removed
    finally:
        os.unlink(keep)
        os.rmdir(site['scratch'])
