"""Running the collection's ClaudeFS playbooks against an emulator, as an operator would.

``run_playbook`` calls ``ansible-playbook`` (the venv's) with the emulator's own inventory
(``cfsemu up`` writes DIR/inventory.yml), the service seam set to cfsemu, the recovery report
callback on, and returns the exit status, the output and the per-play recap.
"""

import glob
import json
import os
import re
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')
CFSEMU = os.path.join(REPO, 'tests', 'lab', 'claudefs', 'cfsemu.py')
RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)',
                   re.M)


class PlaybookRun:
    def __init__(self, rc, output, seconds, report_dir):
        self.rc = rc
        self.output = output
        self.seconds = seconds
        self.report_dir = report_dir
        self.recap = {m.group(1): {'ok': int(m.group(2)), 'changed': int(m.group(3)),
                                   'failed': int(m.group(5))}
                      for m in RECAP.finditer(output)}

    @property
    def changed(self):
        return sum(r['changed'] for r in self.recap.values())

    def report(self):
        """The recovery report (JSON) this run left, or None."""
        found = sorted(glob.glob(os.path.join(self.report_dir, '*.json')), key=os.path.getmtime)
        if not found:
            return None
        with open(found[-1]) as f:
            return json.load(f)


class Writer(threading.Thread):
    """A client that keeps writing small files and logs every outcome."""

    def __init__(self, client, history, prefix):
        super().__init__(daemon=True)
        self.client, self.history, self.prefix = client, history, prefix
        self.stop = threading.Event()
        self.count = 0

    def run(self):
        from cfscheck.workload import write_file
        while not self.stop.is_set():
            name = '%s/%s' % (self.prefix, self.history.unique_value('w'))
            write_file(self.client, self.history, 1, name, name.encode() * 8, timeout=2.0)
            self.count += 1
            time.sleep(0.05)


def run_playbook(name, emulator, extra=None, check=False, report_dir=None, timeout=600):
    """``ansible-playbook playbooks/<name> -i <emulator inventory>``; never raises on rc."""
    report_dir = report_dir or os.path.join(REPO, 'tests', 'output', 'claudefs', 'reports',
                                            os.path.basename(emulator.state_dir))
    os.makedirs(report_dir, exist_ok=True)
    extra_vars = {'claudefs_service_backend': 'cfsemu',
                  'claudefs_cfsemu_command': [sys.executable, CFSEMU]}
    extra_vars.update(extra or {})
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
            os.path.join(REPO, 'playbooks', name),
            '-i', os.path.join(emulator.state_dir, 'inventory.yml'),
            '-e', json.dumps(extra_vars)]
    if check:
        argv.append('--check')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', RESILIENCE_DR_REPORT_DIR=report_dir,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout, check=False)
    output = proc.stdout.decode('utf-8', 'replace')
    return PlaybookRun(proc.returncode, output, time.monotonic() - started, report_dir)


def phase_lines(report):
    """``phase 12.3s`` per phase of a recovery report, for the test's printed timings."""
    return ', '.join('%s %.1fs' % (p.get('phase') or p.get('name'), p.get('duration_seconds') or 0)
                     for p in (report or {}).get('phases', []))


def reap_added_nodes(emulator):
    """Stop the nodes a playbook added (``cfsemu add-node``) before the fixture's ``down``.

    The fixture's cluster object read cluster.json before those nodes existed, so its
    ``down`` would leave them running; a fresh read of cluster.json knows them.
    """
    import signal
    from cfsemu import supervisor
    if not os.path.exists(os.path.join(emulator.state_dir, 'cluster.json')):
        return {}
    current = supervisor.Cluster(emulator.state_dir)
    added = [n for n in current.doc['nodes'] if n not in emulator.doc['nodes']]
    for node in added:
        if current.running(node):
            current.stop(node)
    return dict((n, not current.running(n)) for n in added)


def write_manifest(path, expected):
    """The checksum manifest the verify role reads: ``{path: sha256}`` as JSON."""
    with open(path, 'w') as f:
        json.dump(dict((name.lstrip('/'), digest) for name, digest in expected.items()), f,
                  indent=1, sort_keys=True)
    return path
