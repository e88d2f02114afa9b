#!/usr/bin/env python
"""Lab benchmarks: image build (cold, into an empty cache) and reuse (warm), boot-to-SSH, and
Ansible's time per module call against a lab VM with and without pipelining/ControlPersist.

    .venv/bin/python tests/bench/bench_lab.py [--cold] [--calls 10]

Prints a Markdown table for docs/benchmarks.md.  Timing lives here, never in tests.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from labvm import Lab, image  # noqa: E402


def timed(func):
    started = time.time()
    value = func()
    return time.time() - started, value


def module_calls(inventory, calls, fast):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_CALLBACKS_ENABLED='', ANSIBLE_LOAD_CALLBACK_PLUGINS='0')
    env['ANSIBLE_CALLBACKS_ENABLED'] = 'ansible.posix.json'
    if fast:
        env.update(ANSIBLE_PIPELINING='True',
                   ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=300s')
    else:
        env.update(ANSIBLE_PIPELINING='False', ANSIBLE_SSH_ARGS='-o ControlMaster=no')
    # One playbook with N tasks: the per-task cost, without ansible-playbook's start-up.
    with tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False) as play:
        play.write('- hosts: train\n  gather_facts: false\n  tasks:\n')
        for index in range(calls):
            play.write('    - name: call %d\n      ansible.builtin.ping:\n' % index)
    ansible_playbook = os.path.join(REPO, '.venv', 'bin', 'ansible-playbook')
    seconds, _unused = timed(lambda: subprocess.run(
        [ansible_playbook, '-i', inventory, play.name], env=env, check=True,
        capture_output=True))
    os.unlink(play.name)
    return seconds / calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cold', action='store_true', help='also build the image from scratch')
    parser.add_argument('--calls', type=int, default=10)
    args = parser.parse_args()
    rows = []
    if args.cold:
        with tempfile.TemporaryDirectory(dir='/var/tmp') as cache:
            os.environ['RESILIENCE_LAB_CACHE'] = cache
            seconds, _unused = timed(image.ensure_image)
            rows.append(('cold image build (debootstrap + kernel + mkfs)', seconds))
        del os.environ['RESILIENCE_LAB_CACHE']
    seconds, _unused = timed(image.ensure_image)
    rows.append(('warm image reuse (cache hit)', seconds))
    lab = Lab.create('bench-lab', owner=os.getpid())
    try:
        seconds, vm = timed(lambda: lab.boot('train', data_disks_mb=[512] * 4, nvme_mb=512))
        rows.append(('boot to SSH (4 HDDs + NVMe)', seconds))
        inventory = lab.write_inventory()
        rows.append(('Ansible per module call, no pipelining, no ControlPersist',
                     module_calls(inventory, args.calls, fast=False)))
        rows.append(('Ansible per module call, pipelining + ControlPersist',
                     module_calls(inventory, args.calls, fast=True)))
    finally:
        lab.destroy()
    print('| measurement | seconds |\n|---|---|')
    for name, seconds in rows:
        print('| %s | %.2f |' % (name, seconds))


if __name__ == '__main__':
    main()
