# -*- coding: utf-8 -*-
"""plugins/filter/train.py and train_verify.py: the train server's layout expanded, and the
post-recovery checks judged, over the variable model's own values (roles/train/defaults), the
reference inventory's accounts, and real stat(1) and findmnt(8) output."""

import json
import os
import subprocess

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.filter import train, train_verify

from testlib import REPO


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


MODEL = load('roles', 'train', 'defaults', 'main.yml')
LAYOUT = MODEL['train_user_directories']
TOP = MODEL['train_storage_directories']
ACCOUNTS = load('inventories', 'train-server', 'group_vars', 'train_servers', 'main.yml')['train_users_accounts']
BINDS = load('roles', 'train_workloads', 'defaults', 'main.yml')['train_workloads_binds']
ROOT = '/mnt/storage'
STAT_FORMAT = '%n|%a|%u|%g|%F'


def stat_lines(paths):
    """What the role's stat task prints for these paths (missing ones are left out, rc 1)."""
    proc = subprocess.run(['stat', '--format', STAT_FORMAT] + list(paths), capture_output=True,
                          text=True, env=dict(os.environ, LC_ALL='C'), check=False)
    return proc.stdout.splitlines()


def test_user_dirs_expand_the_model_layout_for_the_inventory_accounts():
    dirs = train.train_user_dirs(ACCOUNTS[:2], ROOT, LAYOUT)
    assert [(d['user'], d['uid'], d['name'], d['path'], d['mode']) for d in dirs] == [
        ('alice', 1000, 'home', '/mnt/storage/homes/alice', '0700'),
        ('alice', 1000, 'ssh', '/mnt/storage/homes/alice/.ssh', '0700'),
        ('alice', 1000, 'workspace', '/mnt/storage/workspaces/alice', '0755'),
        ('alice', 1000, 'state', '/mnt/storage/docker-volumes/alice-state', '0755'),
        ('bob', 1001, 'home', '/mnt/storage/homes/bob', '0700'),
        ('bob', 1001, 'ssh', '/mnt/storage/homes/bob/.ssh', '0700'),
        ('bob', 1001, 'workspace', '/mnt/storage/workspaces/bob', '0755'),
        ('bob', 1001, 'state', '/mnt/storage/docker-volumes/bob-state', '0755')]
    assert len(train.train_user_dirs(ACCOUNTS, ROOT + '/', LAYOUT)) == 4 * len(ACCOUNTS)
    assert train.train_user_dirs([], ROOT, LAYOUT) == []


def test_user_path_and_the_authorized_keys_file():
    alice = dict(ACCOUNTS[0], authorized_keys=['ssh-ed25519 AAAA alice@laptop'])
    assert train.train_user_path(alice, ROOT, LAYOUT) == '/mnt/storage/homes/alice'
    assert train.train_user_path(alice, ROOT, LAYOUT, 'authorized_keys') == \
        '/mnt/storage/homes/alice/.ssh/authorized_keys'
    paths = train.train_user_paths([alice, ACCOUNTS[1]], ROOT, LAYOUT)
    assert [(p['name'], p['mode']) for p in paths if p['user'] == 'alice'][-1] == ('authorized_keys', '0600')
    assert 'authorized_keys' not in [p['name'] for p in paths if p['user'] == 'bob']  # no keys
    with pytest.raises(AnsibleFilterError, match='no entry named'):
        train.train_user_path(alice, ROOT, LAYOUT, 'scratch')


@pytest.mark.parametrize('name', ['../etc', 'a/b', '..', '.', ''])
def test_an_account_name_that_would_leave_its_directory_is_refused(name):
    with pytest.raises(AnsibleFilterError, match='cannot be a directory name'):
        train.train_user_dirs([{'name': name, 'uid': 1000}], ROOT, LAYOUT)


def test_a_layout_path_that_climbs_out_of_the_root_is_refused():
    with pytest.raises(AnsibleFilterError, match='stay below'):
        train.train_user_dirs(ACCOUNTS[:1], ROOT, [{'name': 'home', 'path': '../{user}', 'mode': '0700'}])


def test_uid_conflicts_name_every_clash_and_nothing_else():
    passwd = {'root': ['x', '0', '0', 'root', '/root', '/bin/bash'],
              'alice': ['x', '1000', '1000', '', '/mnt/storage/homes/alice', '/bin/bash'],
              'bob': ['x', '1005', '1005', '', '/home/bob', '/bin/bash'],
              'mallory': ['x', '1002', '1002', '', '/home/mallory', '/bin/sh']}
    group = {'root': ['x', '0', ''], 'alice': ['x', '1000', ''], 'bob': ['x', '1001', ''],
             'staff': ['x', '1003', '']}
    assert train.train_uid_conflicts(ACCOUNTS, passwd, group) == [
        'user bob has UID 1005, the inventory says 1001',
        'UID 1002 (for charlie) already belongs to user mallory',
        'GID 1003 (for dave) already belongs to group staff']
    matching = {'alice': passwd['alice']}
    assert train.train_uid_conflicts(ACCOUNTS[:1], matching, {'alice': group['alice']}) == []


def test_workspace_binds_resolve_the_layout_by_name():
    assert train.train_workspace_binds(ACCOUNTS[0], ROOT, LAYOUT, TOP, BINDS) == [
        '/mnt/storage/homes/alice:/home/alice', '/mnt/storage/workspaces/alice:/workspace',
        '/mnt/storage/shared:/shared', '/mnt/storage/docker-volumes/alice-state:/state']
    with pytest.raises(AnsibleFilterError, match='names neither'):
        train.train_workspace_binds(ACCOUNTS[0], ROOT, LAYOUT, TOP, [{'directory': 'scratch', 'dest': '/s'}])


def test_filter_names():
    assert sorted(train.FilterModule().filters()) == [
        'train_uid_conflicts', 'train_user_dirs', 'train_user_path', 'train_user_paths',
        'train_workspace_binds']
    assert sorted(train_verify.FilterModule().filters()) == [
        'train_account_checks', 'train_checksum_check', 'train_container_checks',
        'train_directory_checks', 'train_gpu_check', 'train_mount_checks', 'train_restic_check',
        'train_stat_table', 'train_storage_checks']


@pytest.fixture
def array(tmp_path):
    """The model's layout on a real directory tree, owned by whoever runs the test."""
    root = str(tmp_path / 'storage')
    os.mkdir(root)
    for d in TOP:
        path = os.path.join(root, d['path'])
        os.makedirs(path, exist_ok=True)
        os.chmod(path, int(d.get('mode', '0710'), 8))
    me = {'name': 'alice', 'uid': os.getuid(), 'authorized_keys': ['ssh-ed25519 AAAA alice@lab']}
    if os.getuid() != os.getgid():
        pytest.skip('the checks want GID = UID; this test user has another primary GID')
    for d in train.train_user_paths([me], root, LAYOUT):
        if d['name'] == 'authorized_keys':
            with open(d['path'], 'w') as handle:
                handle.write(me['authorized_keys'][0] + '\n')
        else:
            os.mkdir(d['path'])
        os.chmod(d['path'], int(d['mode'], 8))
    return root, me


def test_stat_table_reads_real_stat_output(array):
    root, me = array
    table = train_verify.train_stat_table(stat_lines([root + '/homes', root + '/snapshots']))
    assert table == {root + '/homes': {'mode': '755', 'uid': os.getuid(), 'gid': os.getgid(), 'type': 'directory'},
                     root + '/snapshots': {'mode': '700', 'uid': os.getuid(), 'gid': os.getgid(),
                                           'type': 'directory'}}
    with pytest.raises(AnsibleFilterError, match='not a line of stat'):
        train_verify.train_stat_table(['/mnt/storage 755'])


def test_directory_checks_over_the_checked_top_level_directories(array):
    root, me = array
    checked = [d for d in TOP if 'mode' in d and '/' not in d['path']]
    assert [d['path'] for d in checked] == ['homes', 'workspaces', 'shared', 'docker-volumes', 'cache', 'snapshots']
    os.chmod(os.path.join(root, 'snapshots'), 0o755)
    os.rmdir(os.path.join(root, 'shared'))
    st = train_verify.train_stat_table(stat_lines(root + '/' + d['path'] for d in checked))
    entries = dict((e['check'], e) for e in train_verify.train_directory_checks(checked, root, st))
    assert entries['directory %s/homes' % root] == {
        'check': 'directory %s/homes' % root, 'ok': True, 'detail': 'directory mode 755 (want 755)'}
    assert entries['directory %s/snapshots' % root]['detail'] == 'directory mode 755 (want 700)'
    assert not entries['directory %s/snapshots' % root]['ok']
    assert entries['directory %s/shared' % root] == {
        'check': 'directory %s/shared' % root, 'ok': False, 'detail': 'missing'}
    docker = train_verify.train_directory_checks([{'path': 'docker'}], root, train_verify.train_stat_table(
        stat_lines([root + '/docker'])))
    assert docker[0]['ok'] and docker[0]['detail'] == 'directory'


def test_account_checks_over_a_real_tree(array):
    root, me = array
    home = root + '/homes/alice'
    passwd = {'alice': ['x', str(me['uid']), str(me['uid']), '', home, '/bin/bash']}
    paths = [d['path'] for d in train.train_user_paths([me], root, LAYOUT)]
    st = train_verify.train_stat_table(stat_lines(paths))
    [entry] = train_verify.train_account_checks([me], root, LAYOUT, st, passwd)
    assert entry == {'check': 'user alice and home ownership', 'ok': True,
                     'detail': 'UID/GID %d, 5 directories owned and moded as expected' % me['uid']}
    os.chmod(home + '/.ssh/authorized_keys', 0o644)
    os.rmdir(root + '/docker-volumes/alice-state')
    st = train_verify.train_stat_table(stat_lines(paths))
    moved = {'alice': ['x', str(me['uid']), str(me['uid'] + 1), '', '/home/alice', '/bin/bash']}
    [entry] = train_verify.train_account_checks([me], root, LAYOUT, st, moved)
    assert not entry['ok']
    assert entry['detail'] == '; '.join([
        'GID %d' % (me['uid'] + 1), 'home /home/alice', root + '/docker-volumes/alice-state missing',
        '%s/.ssh/authorized_keys is %d:%d mode 644 (want %d:%d mode 600)' % ((home,) + (me['uid'],) * 4)])
    [gone] = train_verify.train_account_checks([{'name': 'bob', 'uid': 1001}], root, LAYOUT, {}, {})
    assert gone['detail'].startswith('no such user; %s/homes/bob missing' % root)


# btrfs_array_info and bcache_info results of the lab's train_verify scenario (two HDDs on
# bcache with the NVMe as cache, btrfs raid1 at /mnt/storage), shaped as their RETURN docs say.
FILESYSTEMS = [{
    'uuid': 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74', 'label': 'ml-storage', 'mounted': True,
    'mountpoint': ROOT, 'mountpoints': [ROOT], 'missing_count': 0, 'missing_devids': [], 'errors': 0,
    'profiles': {'data': ['RAID1'], 'metadata': ['RAID1'], 'system': ['RAID1']},
    'devices': [{'devid': 1, 'path': '/dev/bcache0'}, {'devid': 2, 'path': '/dev/bcache1'}]}]
BACKING = [
    {'device': '/dev/vdb', 'bcache_device': '/dev/bcache0', 'cache_set_uuid': 'a0b1', 'status': 'clean',
     'cache_mode': 'writeback', 'sequential_cutoff_bytes': 0, 'writeback_percent': 40},
    {'device': '/dev/vdc', 'bcache_device': '/dev/bcache1', 'cache_set_uuid': 'a0b1', 'status': 'clean',
     'cache_mode': 'writeback', 'sequential_cutoff_bytes': 0, 'writeback_percent': 40}]
EXPECT = {'data_profile': 'raid1', 'metadata_profile': 'raid1', 'allow_degraded': False,
          'bcache_mode': MODEL['train_storage_cache_mode'],
          'sequential_cutoff': MODEL['train_storage_sequential_cutoff'],
          'writeback_percent': min(MODEL['train_storage_writeback_percent'], 40)}


def test_storage_checks_of_a_healthy_array():
    checks = train_verify.train_storage_checks(FILESYSTEMS, ROOT, BACKING, EXPECT)
    assert checks['profiles'] == {
        'check': 'BTRFS profiles and members', 'ok': True,
        'detail': 'ml-storage (c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74): data RAID1, metadata RAID1, 2 members, 0 missing'}
    assert checks['errors'] == {'check': 'BTRFS device error counters', 'ok': True,
                                'detail': '0 errors in the device stats'}
    assert checks['bcache'] == {
        'check': 'bcache attached, mode and tunables', 'ok': True,
        'detail': '2 of 2 members on bcache, mode writeback, sequential_cutoff 0, writeback_percent 40'}


def test_storage_checks_of_a_degraded_array_with_a_detached_cache():
    fs = [dict(FILESYSTEMS[0], missing_count=1, errors=7, devices=FILESYSTEMS[0]['devices'][:1])]
    backing = [dict(BACKING[0], cache_set_uuid=None, status='no cache', cache_mode='writethrough')]
    checks = train_verify.train_storage_checks(fs, ROOT, backing, EXPECT)
    assert not checks['profiles']['ok']
    assert checks['profiles']['detail'].endswith('1 members, 1 missing (degraded mount allowed: train_storage_allow_degraded)')
    assert train_verify.train_storage_checks(fs, ROOT, backing, dict(EXPECT, allow_degraded=True))['profiles']['ok']
    assert checks['errors'] == {'check': 'BTRFS device error counters', 'ok': False,
                                'detail': '7 errors in the device stats'}
    assert not checks['bcache']['ok']
    assert checks['bcache']['detail'].endswith(
        '; /dev/vdb has no cache attached (no cache); /dev/vdb cache_mode writethrough')
    nothing = train_verify.train_storage_checks([], ROOT, [], EXPECT)
    assert nothing['profiles']['detail'] == 'no BTRFS filesystem mounted at /mnt/storage'
    assert nothing['errors']['detail'] == 'unknown errors in the device stats'
    assert not any(c['ok'] for c in nothing.values())


def findmnt(*args):
    """A registered command result of the role's findmnt call, over the real findmnt."""
    proc = subprocess.run(['findmnt', '--json', '--output', 'TARGET,SOURCE,FSTYPE,OPTIONS,UUID'] + list(args),
                          capture_output=True, text=True, check=False)
    return {'rc': proc.returncode, 'stdout': proc.stdout}


def test_mount_checks_over_real_findmnt_output():
    real = findmnt('--mountpoint', '/')
    assert real['rc'] == 0
    root_fs = json.loads(real['stdout'])['filesystems'][0]
    checks = train_verify.train_mount_checks(real, {'skipped': True}, '/', root_fs['options'].split(',')[0])
    assert checks['mount']['check'] == 'mount /'
    assert checks['mount']['ok'] == (root_fs['fstype'] == 'btrfs')
    assert checks['mount']['detail'].startswith('%s on /, %s, options ' % (root_fs['source'], root_fs['fstype']))
    assert checks['fstab'] == {'check': 'fstab entry for /', 'ok': False, 'detail': 'no fstab entry'}
    absent = train_verify.train_mount_checks(findmnt('--mountpoint', '/no/such/mount'), {'rc': 1, 'stdout': ''},
                                             '/no/such/mount', 'compress=zstd:3')
    assert absent['mount'] == {'check': 'mount /no/such/mount', 'ok': False, 'detail': 'not mounted'}


def test_mount_checks_of_the_array_and_its_fstab_entry():
    options = MODEL['train_storage_mount_options']
    mounted = {'rc': 0, 'stdout': json.dumps({'filesystems': [{
        'target': ROOT, 'source': '/dev/bcache0', 'fstype': 'btrfs', 'uuid': 'c597',
        'options': 'rw,relatime,compress=zstd:3,space_cache=v2,subvolid=5,subvol=/,degraded'}]})}
    tab = {'rc': 0, 'stdout': json.dumps({'filesystems': [{
        'target': ROOT, 'source': 'UUID=c597', 'fstype': 'btrfs', 'options': 'compress=zstd:3,relatime'}]})}
    checks = train_verify.train_mount_checks(mounted, tab, ROOT, options)
    assert checks['mount']['ok'] and checks['degraded']
    assert not checks['fstab']['ok']
    assert checks['fstab']['detail'] == 'UUID=c597 /mnt/storage btrfs compress=zstd:3,relatime; missing options: space_cache=v2'
    by_path = {'rc': 0, 'stdout': tab['stdout'].replace('UUID=c597', '/dev/bcache0')}
    assert train_verify.train_mount_checks(mounted, by_path, ROOT, 'relatime')['fstab']['detail'].endswith('; not by UUID')


def test_restic_check():
    good = {'count': 3, 'repository': '/srv/restic',
            'latest': {'short_id': '4f2a', 'time': '2026-12-01T02:00:03Z', 'age_seconds': 3600}}
    assert train_verify.train_restic_check(good, 172800) == {
        'check': 'restic repository reachable and recent', 'ok': True,
        'detail': '3 snapshots, latest 4f2a from 2026-12-01T02:00:03Z, 3600 s old (limit 172800 s)'}
    assert not train_verify.train_restic_check(good, 600)['ok']
    assert train_verify.train_restic_check({'count': 0, 'latest': None, 'repository': '/srv/r'}, 600)['detail'] == \
        'no snapshots in /srv/r'
    lost = train_verify.train_restic_check({'failed': False, 'msg': 'Is there a repository at the following location?'}, 600)
    assert lost == {'check': 'restic repository reachable and recent', 'ok': False,
                    'detail': 'unreachable: Is there a repository at the following location?'}


def test_checksum_check_over_real_sha256sum_output(tmp_path):
    for name, data in (('a', b'one'), ('b', b'two')):
        (tmp_path / name).write_bytes(data)
    sums = subprocess.run(['sha256sum', 'a', 'b'], cwd=str(tmp_path), capture_output=True, text=True, check=True)
    (tmp_path / 'manifest').write_text(sums.stdout)
    (tmp_path / 'b').write_bytes(b'corrupted')

    def run():
        proc = subprocess.run(['bash', '-c', 'echo "total=$(grep -c . manifest)"; '
                               'sha256sum --check --quiet --strict manifest 2>&1'],
                              cwd=str(tmp_path), capture_output=True, text=True, check=False)
        return {'rc': proc.returncode, 'stdout_lines': proc.stdout.splitlines()}

    bad = train_verify.train_checksum_check(run(), '/root/dr-manifest.sha256')
    assert bad['check'] == 'data checksums (/root/dr-manifest.sha256)' and not bad['ok']
    assert bad['detail'].startswith('1 of 2 files differ or are missing: b: FAILED')
    (tmp_path / 'b').write_bytes(b'two')
    assert train_verify.train_checksum_check(run(), 'm')['detail'] == '2 files match the manifest'


def test_container_and_gpu_checks():
    info = {'containers': [{'Names': ['/workspace-alice'], 'State': 'running', 'Status': 'Up 2 minutes',
                            'Image': 'resilience-dr/workspace:1'},
                           {'Names': ['/workspace-bob'], 'State': 'exited', 'Status': 'Exited (137)',
                            'Image': 'resilience-dr/workspace:1'}]}
    alice, bob, charlie = train_verify.train_container_checks(ACCOUNTS[:3], info)
    assert alice == {'check': 'container workspace-alice running', 'ok': True,
                     'detail': 'running (Up 2 minutes), image resilience-dr/workspace:1'}
    assert not bob['ok'] and bob['detail'].startswith('exited (Exited (137))')
    assert charlie['detail'] == 'missing' and not charlie['ok']
    [down] = train_verify.train_container_checks(ACCOUNTS[:1], {'failed': False, 'msg': 'Cannot connect'})
    assert down['detail'] == 'Docker does not answer: Cannot connect'
    gpus = {'rc': 0, 'stdout_lines': ['GPU 0: NVIDIA RTX A6000 (UUID: GPU-1)', 'GPU 1: NVIDIA RTX A6000 (UUID: GPU-2)']}
    assert train_verify.train_gpu_check(gpus) == {'check': 'GPUs visible (nvidia-smi)', 'ok': True, 'detail': '2 GPUs'}
    missing = train_verify.train_gpu_check({'rc': 2, 'msg': '[Errno 2] No such file or directory', 'stdout_lines': []})
    assert missing == {'check': 'GPUs visible (nvidia-smi)', 'ok': False,
                       'detail': '0 GPUs: [Errno 2] No such file or directory'}
