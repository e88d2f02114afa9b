# -*- coding: utf-8 -*-
"""playbooks/dr-drill.yml with both systems in one inventory (issue 16): the train server (real
restic backups by the real backup job, btrfs on a loop device) and a ClaudeFS emulator with a
scratch emulator reading its S3 read-only.  One run drills both: the JSON report has both
targets, the JUnit XML a testsuite per system, the trend a line per target; then the newest
ClaudeFS snapshot is damaged and the same run fails naming it and "since", while the train
server's drill still passes and both scratch targets are torn down.
"""

import glob
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from cfs_helpers import wait_for
from cfs_playbooks import CFSEMU, COLLECTIONS, REPO
from cfs_snapshots import plant_bad_snapshots

INTEGRATION = os.path.join(REPO, 'tests', 'integration')
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)

from btrfs_helpers import have_root_and_loops  # noqa: E402
from drill_helpers import sha256_tree, train_site  # noqa: E402

pytestmark = [pytest.mark.claudefs,
              pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices')]

PLAYBOOK = os.path.join(REPO, 'playbooks', 'dr-drill.yml')


def uploaded(client):
    queue = client.json_ok('GET', '/v1/s3/queue')
    return queue['depth'] == 0 and all(n.get('journal_pending') in (0, None)
                                       for n in queue['nodes'])


def run_drill(live, scratch, train, drill_dir, report_dir):
    doc = scratch.doc
    extra = {
        'claudefs_service_backend': 'cfsemu', 'claudefs_cfsemu_command': [sys.executable, CFSEMU],
        'claudefs_drill_scratch_endpoints': [
            'http://%s:%d' % (doc['nodes'][n]['address'], doc['admin_port']) for n in doc['nodes']],
        'claudefs_drill_scratch_token': doc['admin_token'],
        'claudefs_drill_scratch_state_dir': scratch.state_dir,
        'dr_drill_dir': str(drill_dir),
    }
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), PLAYBOOK,
            '-i', os.path.join(live.state_dir, 'inventory.yml'), '-i', train['inventory'],
            '-e', json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1',
               RESILIENCE_DR_REPORT_DIR=str(report_dir), ANSIBLE_LOCALHOST_WARNING='False')
    proc = subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=900, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def newest_report(drill_dir):
    path = sorted(glob.glob(str(drill_dir / 'dr-drill-*.json')))[-1]
    with open(path) as handle:
        return json.load(handle), ET.parse(path[:-5] + '.xml').getroot()


def test_one_run_drills_both_systems(cluster_factory, tmp_path):
    live = cluster_factory()
    scratch = cluster_factory(sites=1, s3_from=live.state_dir)
    client = live.client('a1', timeout=10)
    for n in range(6):
        assert client.call('PUT', '/v1/files/drill/f%d' % n, raw=b'file %d\n' % n * 100).ok
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads before the snapshot')
    good = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=60)
    drill_dir, reports = tmp_path / 'drill', tmp_path / 'reports'
    with train_site(tmp_path / 'train') as train:
        before = sha256_tree(train['storage'])
        rc, out = run_drill(live, scratch, train, drill_dir, reports)
        assert rc == 0, out[-8000:]
        doc, junit = newest_report(drill_dir)
        assert doc['passed'] is True
        systems = dict((t['system'], t) for t in doc['targets'])
        assert set(systems) == {'train', 'claudefs'}
        assert systems['claudefs']['backup']['location'] == good['location']
        assert systems['train']['metrics']['read_data_subset'] == '1/3'
        names = sorted(s.get('name') for s in junit.findall('testsuite'))
        assert names == ['claudefs/%s' % live.doc['name'], 'train/train1']
        assert junit.get('failures') == '0'

        # the newest ClaudeFS snapshot damaged: the run fails, naming it; the train half passes
        planted = plant_bad_snapshots(live, good['location'])
        rc, out = run_drill(live, scratch, train, drill_dir, reports)
        assert rc != 0
        assert 'DR drill FAILED' in out and 'unusable since' in out
        assert planted['badmember'].rsplit('/', 1)[1] in out
        doc, junit = newest_report(drill_dir)
        systems = dict((t['system'], t) for t in doc['targets'])
        assert systems['train']['status'] == 'pass' and systems['claudefs']['status'] == 'fail'
        verdict = systems['claudefs']['verdict']
        assert verdict['usable'] is False and verdict['last_good']['backup_id']
        failures = dict((s.get('name').split('/')[0], int(s.get('failures')))
                        for s in junit.findall('testsuite'))
        assert failures['train'] == 0 and failures['claudefs'] >= 1
        with open(str(drill_dir / 'trend.jsonl')) as handle:
            lines = [json.loads(line) for line in handle]
        assert len(lines) == 4
        assert [x['metrics'].get('read_data_subset') for x in lines if x['system'] == 'train'] \
            == ['1/3', '2/3']
        assert not os.path.exists(train['scratch'])
        assert scratch.client('a1', timeout=10).json_ok('GET', '/v1/files')['files'] == []
        assert sha256_tree(train['storage']) == before
