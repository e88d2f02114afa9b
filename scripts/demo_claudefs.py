#!/usr/bin/env python3
"""make demo-claudefs: a site loses its majority and cfs-recover-quorum.yml brings it back.

Brings the ClaudeFS emulator up (two sites x three nodes, tests/lab/claudefs), writes files
with known SHA-256 checksums, SIGKILLs two of site-a's three nodes, runs the playbook with the
gate opened (-e claudefs_quorum_allow_data_loss=true, two new nodes replacing the dead ones),
then reads every file back, compares every checksum, and prints the recovery report.  The
emulator is taken down at the end, also after a failure.
"""

import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(REPO, 'tests', 'lab', 'claudefs'), os.path.join(REPO, 'tests', 'claudefs')):
    sys.path.insert(0, path)

from cfscheck.api import Client  # noqa: E402
from cfscheck.history import History  # noqa: E402
from cfscheck.workload import Files  # noqa: E402
from cfsemu import supervisor  # noqa: E402
from cfs_playbooks import run_playbook, write_manifest  # noqa: E402

FILES = 50


class Demo:
    def __init__(self):
        self.net = supervisor.free_net(170, 190)
        self.state_dir = os.path.join(REPO, 'tests', 'output', 'claudefs', 'demo',
                                      'cfs-%d' % self.net)
        self.cluster = None
        self.doc = None

    def client(self, node='a1'):
        spec = self.doc['nodes'][node]
        return Client('http://%s:%d' % (spec['address'], self.doc['admin_port']),
                      self.doc['admin_token'], timeout=5.0)

    def swim(self):
        return {n['name']: n['swim'] for n in self.client().json_ok('GET', '/v1/status')['nodes']}

    def run(self):
        step('bringing the emulator up (net 127.%d.0.0/16)' % self.net)
        self.cluster = supervisor.Cluster.create(self.state_dir, owner=os.getpid(), net=self.net)
        self.cluster.up(timeout=90)
        self.doc = self.cluster.doc
        files = Files(History(seed=self.net), 'demo/data', seed=self.net)
        outcomes = files.write(self.client(), FILES)
        step('wrote %d files, %d acknowledged' % (FILES, outcomes.count('ok')))
        manifest = write_manifest(os.path.join(self.state_dir, 'manifest.json'), files.expected)

        step('SIGKILL a2 and a3: site-a loses its majority')
        self.cluster.kill('a2')
        self.cluster.kill('a3')
        deadline = time.monotonic() + 30
        while self.swim().get('a2') != 'Dead' or self.swim().get('a3') != 'Dead':
            if time.monotonic() > deadline:
                raise SystemExit('SWIM did not declare a2 and a3 Dead within 30 s')
            time.sleep(0.3)

        step('ansible-playbook playbooks/cfs-recover-quorum.yml -e claudefs_quorum_site=site-a '
             '-e claudefs_quorum_allow_data_loss=true (a4, a5 replace a2, a3)')
        run = run_playbook('cfs-recover-quorum.yml', self, {
            'claudefs_quorum_site': 'site-a', 'claudefs_quorum_allow_data_loss': True,
            'claudefs_quorum_try_restart': False, 'claudefs_manifest': manifest,
            'claudefs_quorum_replacements': [{'name': 'a4', 'replaces': 'a2'},
                                             {'name': 'a5', 'replaces': 'a3'}]})
        print(run.output[-3000:])
        if run.rc != 0:
            raise SystemExit('the playbook failed (rc=%d)' % run.rc)
        verify = files.verify(self.client())
        step('checksums read back: %d intact, %d missing, %d corrupt, of %d acknowledged'
             % (verify['intact'], len(verify['missing']), len(verify['corrupt']),
                len(files.acknowledged())))
        reports = sorted((os.path.join(run.report_dir, f) for f in os.listdir(run.report_dir)
                          if f.endswith('.md')), key=os.path.getmtime)
        if reports:
            with open(reports[-1]) as f:
                print(f.read())
        return 0 if not (verify['missing'] or verify['corrupt']) else 1

    def down(self):
        if self.cluster is not None:
            # A fresh read of cluster.json also knows the nodes the playbook added.
            supervisor.Cluster(self.state_dir).down(remove_state=False)


def step(text):
    print('\n==> %s' % text, flush=True)


def main():
    demo = Demo()
    try:
        return demo.run()
    finally:
        demo.down()


if __name__ == '__main__':
    sys.exit(main())
