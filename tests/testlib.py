# -*- coding: utf-8 -*-
"""Helpers shared by the tests: where the checkout is, and how to run this collection's modules.

They live here, not in ``conftest.py``: several test folders have a ``conftest.py`` of their
own, and ``from conftest import ...`` would import whichever of them pytest loaded first.

``run_module`` runs one module of this collection through ``ansible`` (ad hoc, JSON
callback) and returns the module's result dict.  It is the only way integration tests call
modules, so they exercise the same code path as a playbook: argument spec, check mode,
diff mode and ``no_log`` included.
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The committed link collections/ansible_collections/resilience/dr -> ../../.. (ansible.cfg's
# collections_path); recreated here only for a checkout made without symlinks.
COLLECTIONS = os.path.join(REPO, 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'resilience', 'dr')


def ensure_collection_link():
    """``ansible_collections/resilience/dr`` -> the checkout, for imports and FQCNs."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(os.path.relpath(REPO, os.path.dirname(LINK)), LINK)


ensure_collection_link()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(REPO, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        # Module calls from tests are not recovery runs: no recovery report for them.
        'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_PYTHON_INTERPRETER': 'auto_silent',
    })
    env.update(extra or {})
    return env


def bin_path(tool):
    """A tool from the same venv as the running pytest."""
    candidate = os.path.join(os.path.dirname(sys.executable), tool)
    return candidate if os.path.exists(candidate) else tool


class ModuleResult(dict):
    """The module's return values, plus ``failed``/``msg`` and the raw ansible output."""

    @property
    def failed(self):
        return bool(self.get('failed'))


def run_module(name, args=None, check=False, diff=False, host='localhost', inventory=None,
               become=False, env=None, timeout=1800):
    """Run ``resilience.dr.<name>`` (or a full FQCN) once and return its result."""
    fqcn = name if '.' in name else 'resilience.dr.%s' % name
    argv = [bin_path('ansible'), host, '-m', fqcn]
    if args:
        argv += ['-a', json.dumps(args)]
    if inventory:
        argv += ['-i', inventory]
    else:
        argv += ['-i', 'localhost,', '-c', 'local',
                 '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    if become:
        argv.append('--become')
    proc = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(env),
                          timeout=timeout, cwd=REPO, check=False)
    try:
        doc = json.loads(proc.stdout)
        result = doc['plays'][0]['tasks'][0]['hosts'][host]
    except (ValueError, KeyError, IndexError):
        raise AssertionError('could not read the result of %s (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                             % (fqcn, proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    out = ModuleResult(result)
    out['_stdout'] = proc.stdout
    out['_stderr'] = proc.stderr
    return out


# -- the lab (VMs under qemu) ----------------------------------------------------------------
LAB_DIR = os.path.join(REPO, 'tests', 'lab')
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)
