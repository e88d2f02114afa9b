"""testinfra checks for resilience.dr.train_users in the lab VM."""

import pytest


@pytest.mark.parametrize('name,uid', [('alice', 1000), ('bob', 1001)])
def test_users_have_inventory_ids_and_homes_on_the_array(host, name, uid):
    user = host.user(name)
    assert user.exists
    assert user.uid == uid and user.gid == uid
    assert host.group(name).gid == uid
    assert user.home == '/mnt/storage/homes/%s' % name
    checks = [('/mnt/storage/homes/%s' % name, 0o700),
              ('/mnt/storage/homes/%s/.ssh' % name, 0o700),
              ('/mnt/storage/workspaces/%s' % name, 0o755),
              ('/mnt/storage/docker-volumes/%s-state' % name, 0o755)]
    for path, mode in checks:
        entry = host.file(path)
        assert entry.is_directory, path
        assert entry.uid == uid and entry.gid == uid, path
        assert entry.mode == mode, path


def test_authorized_keys(host):
    keys = host.file('/mnt/storage/homes/alice/.ssh/authorized_keys')
    assert keys.mode == 0o600 and keys.uid == 1000
    assert 'alice@lab' in keys.content_string
    assert not host.file('/mnt/storage/homes/bob/.ssh/authorized_keys').exists


def test_existing_data_keeps_its_owners(host):
    thesis = host.file('/mnt/storage/homes/alice/thesis.txt')
    assert (thesis.uid, thesis.gid, thesis.mode) == (1000, 1000, 0o640)
    assert thesis.content_string == "alice's thesis\n"
    root_file = host.file('/mnt/storage/homes/alice/root-owned.txt')
    assert (root_file.uid, root_file.gid) == (0, 0)
