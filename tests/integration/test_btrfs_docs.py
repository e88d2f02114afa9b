# -*- coding: utf-8 -*-
"""ansible-doc renders the three btrfs modules completely (options, examples, return values)."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ansible_doc(fqcn, *extra):
    tool = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_CALLBACKS_ENABLED='ansible.posix.json')
    proc = subprocess.run([tool if os.path.exists(tool) else 'ansible-doc', fqcn] + list(extra),
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize('module,options', [
    ('btrfs_array', ['label', 'uuid', 'devices', 'data_profile', 'metadata_profile', 'state',
                     'force', 'mountpoint', 'replace_missing', 'remove_devices', 'convert',
                     'temporary_mount', 'relabel']),
    ('btrfs_array_info', ['label', 'uuid', 'device', 'stats', 'scrub', 'usage']),
    ('btrfs_scrub', ['mountpoint', 'state', 'max_age', 'since', 'fail_on_uncorrectable',
                     'readonly']),
])
def test_ansible_doc_renders(module, options):
    text = ansible_doc('resilience.dr.%s' % module)
    assert 'EXAMPLES:' in text and 'RETURN VALUES:' in text
    assert 'resilience.dr.%s:' % module in text       # examples use the FQCN
    for option in options:
        assert '%s' % option in text, option
    import json
    doc = json.loads(ansible_doc('resilience.dr.%s' % module, '--json'))
    spec = doc['resilience.dr.%s' % module]
    assert set(spec['doc']['options']) == set(options) | set(
        {'btrfs_scrub': ['label', 'uuid', 'device', 'timeout']}.get(module, []))
    assert spec['examples'].strip() and spec['return']
