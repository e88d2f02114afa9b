# -*- coding: utf-8 -*-
"""Benchmark: a no-op ``btrfs_array state=present`` on a healthy, mounted 4-device raid10,
against the raw read-only commands it needs, measured in the same run.

Run as root from the repository root (needs 4 free loop devices):

    .venv/bin/python tests/bench/bench_btrfs.py [--rounds 10]

Three comparisons, each alternating the two sides round by round:

1. ``in-process``: the module's own work (discovery + planning in the module_utils/btrfs/ package, with
   the real Runner over a minimal AnsibleModule stand-in that runs commands via subprocess)
   against running the same commands via subprocess and reading the same sysfs files.
   This is the overhead the module adds over the tools (target < 1.5x).
2. ``ansible``: ``ansible localhost -m resilience.dr.btrfs_array`` against
   ``ansible localhost -m ansible.builtin.shell`` running the raw commands - same transport.
3. ``process``: the module as a plain Python process against the raw commands in ``sh``
   (shows the fixed cost of starting Python and importing AnsibleModule).

Behaviour check (not timing): the module's ``commands`` result contains no mutating command,
and ``changed`` is false; the script exits non-zero otherwise.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

from testlib import COLLECTIONS, ansible_env, bin_path  # noqa: E402
from btrfs_helpers import ANSIBLE_ENV_FIX, loop_pool, sh  # noqa: E402
from ansible_collections.resilience.dr.plugins.module_utils.btrfs import discovery  # noqa: E402
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.array import ArrayManager  # noqa: E402
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.request import ArrayRequest  # noqa: E402
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner  # noqa: E402

LABEL = 'bench-raid10'


class StandIn:
    """Just enough of AnsibleModule for Runner and ArrayManager (bench harness, not a mock of
    any tool: every command really runs)."""

    check_mode = False
    _diff = False

    def run_command(self, argv, data=None, environ_update=None, binary_data=False,
                    check_rc=False, expand_user_and_vars=False):
        env = dict(os.environ)
        env.update(environ_update or {})
        p = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        return p.returncode, p.stdout, p.stderr

    def get_bin_path(self, tool, required=False, opt_dirs=None):
        for d in (opt_dirs or []) + os.environ.get('PATH', '').split(':'):
            path = os.path.join(d, tool)
            if os.access(path, os.X_OK):
                return path
        return None

    def warn(self, msg):
        pass


def module_in_process(params):
    module = StandIn()
    runner = Runner(module)
    manager = ArrayManager(module, runner, ArrayRequest(params))
    return manager.run()


def raw_in_process(uuid, commands):
    for argv in commands:
        subprocess.run(argv, capture_output=True, text=True, check=False,
                       env=dict(os.environ, LC_ALL='C'))
    base = '/sys/fs/btrfs/%s' % uuid
    for root, dirs, files in os.walk(base + '/devinfo'):
        for name in files:
            if name == 'missing':
                with open(os.path.join(root, name)) as f:
                    f.read()
    for kind in ('data', 'metadata', 'system'):
        os.listdir('%s/allocation/%s' % (base, kind))


def timed(fn, rounds):
    samples = []
    for dummy in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def alternate(a, b, rounds):
    sa, sb = [], []
    for dummy in range(rounds):
        sa += timed(a, 1)
        sb += timed(b, 1)
    return statistics.median(sa), statistics.median(sb)


def ansible_call(module, args):
    argv = [bin_path('ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', module,
            '-a', args if isinstance(args, str) else json.dumps(args)]
    p = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(ANSIBLE_ENV_FIX),
                       cwd=REPO, check=False)
    if p.returncode != 0:
        raise SystemExit('ansible failed: %s %s' % (p.stdout[-2000:], p.stderr[-2000:]))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rounds', type=int, default=10)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root (loop devices, mount)')

    with loop_pool(size_mb=320, prefix='bench-btrfs-') as pool:
        loops = pool.new(4)
        devices = [lp.device for lp in loops]
        params = {'label': LABEL, 'devices': devices, 'data_profile': 'raid10',
                  'metadata_profile': 'raid10', 'state': 'present'}
        sh('mkfs.btrfs', '-q', '-L', LABEL, '-d', 'raid10', '-m', 'raid10', *devices)
        mnt = pool.mount(devices[0])
        with open(os.path.join(mnt, 'payload'), 'wb') as f:
            f.write(os.urandom(8 * 1024 * 1024))
        sh('sync')

        first = module_in_process(params)
        mutating = [c['cmd'] for c in first['commands'] if discovery.is_mutating(c['cmd'])]
        commands = [c['cmd'].split() for c in first['commands']]
        ok = first['changed'] is False and not mutating and first['mounted'] \
            and first['profiles']['data'] == ['raid10'] and first['missing_devids'] == []
        uuid = first['uuid']

        # 1. in-process
        mod_s, raw_s = alternate(lambda: module_in_process(params),
                                 lambda: raw_in_process(uuid, commands), opts.rounds)
        # 2. ansible, same transport
        shell_line = '; '.join(' '.join(c) for c in commands) + \
            '; cat /sys/fs/btrfs/%s/devinfo/*/missing; ls /sys/fs/btrfs/%s/allocation/*' % (uuid, uuid)
        ans_mod, ans_raw = alternate(lambda: ansible_call('resilience.dr.btrfs_array', params),
                                     lambda: ansible_call('ansible.builtin.shell', shell_line),
                                     max(3, opts.rounds // 2))
        # 3. plain processes
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
            json.dump({'ANSIBLE_MODULE_ARGS': params}, f)
            argsfile = f.name
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        proc_mod, proc_raw = alternate(
            lambda: subprocess.run([sys.executable, '-m',
                                    'ansible_collections.resilience.dr.plugins.modules.btrfs_array',
                                    argsfile], capture_output=True, env=env, check=True),
            lambda: subprocess.run(['sh', '-c', shell_line], capture_output=True, check=True),
            opts.rounds)
        os.unlink(argsfile)

    rows = [('in-process (module_utils vs same commands)', mod_s, raw_s),
            ('ansible ad hoc (module vs shell with raw commands)', ans_mod, ans_raw),
            ('process (python module vs sh with raw commands)', proc_mod, proc_raw)]
    print('btrfs-progs: %s' % sh('btrfs', '--version').stdout.strip())
    print('commands run by the no-op present: %s' % [' '.join(c) for c in commands])
    print('mutating commands: %s; changed: %s' % (mutating, first['changed']))
    print('')
    print('| comparison | module (median s) | raw (median s) | ratio |')
    print('|---|---|---|---|')
    for name, m, r in rows:
        print('| %s | %.4f | %.4f | %.2fx |' % (name, m, r, m / r))
    if not ok:
        print('BEHAVIOUR CHECK FAILED: %r' % first)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
