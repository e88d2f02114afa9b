"""End to end, in one lab VM, the complete-data-loss scenario of the train-server runbook
(recover-full-restore.yml), in the order an operator could meet it:

1. the OS disk dies but the old HDDs are still in: the full restore refuses to build on disks
   that carry signatures (it names train_storage_wipe_disks and lists them) and changes
   nothing;
2. everything is lost: a fresh OS, a blank NVMe and four blank HDDs, and the inventory's UIDs
   no longer match the snapshot (alice and bob swapped: a numeric restore would give each the
   other's home).  One playbook creates the stack, restores everything from the backup with
   the owners mapped by name, brings users, workloads and config.sh back, and proves it:
   every checksum, the ownership, the report (RPO, the not-restorable notice first), and a
   second run with zero changes.

Marked ``variant``: it runs with make variants / make test-all, not in CI's make test.
"""

import re

import pytest

from labvm.train import SERVER_CONFIG_DIR, USERS, TrainLab

pytestmark = [pytest.mark.e2e, pytest.mark.variant]

PLAYBOOK = 'recover-full-restore.yml'
HDDS = ('vdb', 'vdc', 'vdd', 'vde')
# The inventory after the loss: the same names, the UIDs swapped against the snapshot.
SWAPPED = [{'name': u['name'], 'uid': USERS[-1 - i]['uid']} for i, u in enumerate(USERS)]


def changed_tasks(output):
    """(changed count from the recap, the names of the tasks that reported changed)."""
    recap = re.search(r'train\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert recap, output[-3000:]
    names, task = [], None
    for line in output.splitlines():
        if line.startswith('TASK ['):
            task = line[6:].split(']', 1)[0]
        elif line.startswith('changed:'):
            names.append(task)
    return int(recap.group(1)), names


def disk_state(vm):
    """What the disks carry and whether anything is assembled or mounted."""
    return vm.ssh('for d in %s; do wipefs --no-act --json /dev/$d; done; '
                  'lsblk -n -o NAME,PARTLABEL /dev/nvme0n1; '
                  'findmnt -n /mnt/storage || echo not-mounted'
                  % ' '.join(HDDS), check=False).stdout


@pytest.fixture(scope='module')
def train(lab_owner):
    lab = TrainLab('e2e-full-restore', layout='shared', owner=lab_owner)
    try:
        lab.boot()
        yield lab
    finally:
        lab.destroy()


@pytest.fixture(scope='module')
def provisioned(train):
    train.playbook('setup-train-server.yml', {'train_storage_mode': 'create',
                                              'train_backups_init_repository': True})
    train.manifest = train.write_sample_data()
    train.config_text = train.write_server_config()
    train.vm.ssh('systemctl start resilience-dr-backup.service')
    return train


# -- 1. old disks still in: refused, nothing changed --------------------------------------------

def test_disks_with_signatures_are_refused_and_nothing_changes(provisioned):
    train = provisioned
    train.lose_os_disk(nvme=True)
    before = disk_state(train.vm)
    assert '"bcache"' in before, before
    rc, output, seconds = train.playbook(PLAYBOOK, {'train_workloads_enabled': False},
                                         expect_rc=None)
    train.timings['refusal'] = seconds
    assert rc != 0
    assert 'train_storage_wipe_disks=true' in output, output[-3000:]
    assert 'bcache at offset' in output, output[-3000:]
    assert 'Nothing was changed' in output
    assert disk_state(train.vm) == before
    report, _markdown = train.latest_report('full-restore')
    assert report['outcome'] == 'failed'


# -- 2. everything lost, UIDs swapped against the snapshot -------------------------------------

@pytest.fixture(scope='module')
def restored(provisioned):
    train = provisioned
    train.lose_everything()
    assert '"bcache"' not in disk_state(train.vm)
    train.extra = {'train_verify_manifest': train.install_manifest(train.manifest),
                   'train_users_accounts': SWAPPED}
    train.first_run = train.playbook(PLAYBOOK, train.extra, expect_rc=None)
    train.timings['full_restore'] = train.first_run[2]
    return train


def test_full_restore_succeeds_and_reports(restored):
    rc, output, _seconds = restored.first_run
    assert rc == 0, output[-5000:]
    report, markdown = restored.latest_report('full-restore')
    assert report['outcome'] == 'recovered', report['warnings']
    assert report['verification']['failed'] == 0
    checks = {v['check']: v for v in report['verified']}
    checksum = [v for name, v in checks.items() if name.startswith('data checksums')]
    assert checksum and checksum[0]['ok'], checks
    assert str(len(restored.manifest.splitlines())) in checksum[0]['detail']
    # the RPO: the age of the restored snapshot
    assert report['rpo']['achieved_seconds'] is not None
    assert 0 < report['rpo']['achieved_seconds'] < 86400
    # what is not restorable by design, in the first lines
    head = '\n'.join(markdown.splitlines()[:8])
    assert 'Not restorable by design' in head and 'workspaces' in head, markdown[:2000]
    assert 'Owners mapped by name' in markdown
    print('full-restore phases (s): %s' % [(p['name'], p['duration_seconds'])
                                           for p in report['phases']])
    roles = [p['role'] for p in report['phases'] if p['kind'] == 'role']
    for earlier, later in (('train_storage', 'train_backups'), ('train_backups', 'train_users'),
                           ('train_users', 'train_verify')):
        assert roles.index(earlier) < roles.index(later), roles


def test_every_byte_and_owner_and_config_are_back(restored):
    vm = restored.vm
    out = vm.ssh('cd /mnt/storage && sha256sum --check --quiet /root/dr-manifest.sha256 '
                 '&& echo ALL-OK', check=False)
    assert 'ALL-OK' in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    for user in SWAPPED:
        stat = vm.ssh("stat -c '%%u:%%g %%a' /mnt/storage/homes/%s "
                      "/mnt/storage/homes/%s/data/model.bin; "
                      "find /mnt/storage/homes/%s ! -uid %d | head -5"
                      % (user['name'], user['name'], user['name'], user['uid'])
                      ).stdout.split('\n')
        assert stat[0] == '%d:%d 700' % (user['uid'], user['uid']), stat
        assert stat[1].startswith('%d:%d ' % (user['uid'], user['uid'])), stat
        assert stat[2:] == [''] or stat[2:] == [], 'wrong owner: %s' % stat[2:]
        assert vm.ssh('id -u %s' % user['name']).stdout.strip() == str(user['uid'])
    assert vm.ssh('cat %s/config.sh' % SERVER_CONFIG_DIR).stdout == restored.config_text
    assert '[writeback]' in vm.ssh('cat /sys/block/bcache0/bcache/cache_mode').stdout


def test_second_run_changes_nothing(restored):
    rc, output, seconds = restored.playbook(PLAYBOOK, restored.extra, expect_rc=None)
    restored.timings['rerun'] = seconds
    count, names = changed_tasks(output)
    assert rc == 0 and count == 0, (names, output[-4000:])
    print('e2e full-restore timings (s): %s' % restored.timings)
