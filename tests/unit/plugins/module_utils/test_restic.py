# -*- coding: utf-8 -*-
"""Parsing and planning in module_utils/restic/, over outputs captured from restic 0.14 and 0.18
(tests/unit/fixtures/restic/capture.sh)."""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.restic import (
    client, compare, parsers, patterns, selection, strategies, target)

FIX = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'fixtures', 'restic'))
VERSIONS = ['0.14', '0.18']
HOMES = '/W/mnt/storage/snapshots/backup_20250101_010203/homes'


def fixture(name):
    with open(os.path.join(FIX, name)) as handle:
        return handle.read()


def err_and_rc(name):
    text = fixture(name)
    lines = text.rstrip('\n').splitlines()
    return int(lines[-1].split('=')[1]), '\n'.join(lines[:-1])


@pytest.mark.parametrize('version,expected', [('0.14', (0, 14, 0)), ('0.18', (0, 18, 0))])
def test_version_and_features(version, expected):
    got = parsers.parse_version(fixture('version_%s.txt' % version))
    assert got == expected
    features = client.features_for(got)
    assert features['subfolder'] is (version == '0.18')
    assert features['dry_run'] is (version == '0.18')
    assert client.features_for((0, 16, 4))['restore_json'] and not client.features_for((0, 16, 4))['subfolder']
    with pytest.raises(ValueError):
        parsers.parse_version('rustic 0.9')


def test_parse_time_ns():
    assert parsers.parse_time_ns('1970-01-01T00:00:01.5Z') == 1500000000
    assert parsers.parse_time_ns('2026-11-22T04:40:25.813518917Z') % 1000000000 == 813518917
    assert parsers.parse_time_ns('2026-01-01T02:00:00+02:00') == parsers.parse_time_ns('2026-01-01T00:00:00Z')


@pytest.mark.parametrize('version', VERSIONS)
def test_snapshots_and_selection(version):
    snaps = parsers.parse_json_lines(fixture('snapshots_%s.json' % version))
    assert len(snaps) == 1
    snap = selection.select_snapshot(snaps, 'latest')
    assert snap['hostname'] == 'train' and snap['tags'] == ['train-backups']
    assert selection.select_snapshot(snaps, snap['short_id']) is snap
    summary = parsers.snapshot_summary(snap, now=parsers.parse_time_ns(snap['time']) / 1e9 + 3600)
    assert summary['age_seconds'] == 3600 and summary['host'] == 'train'
    with pytest.raises(Refusal):
        selection.select_snapshot(snaps, 'ffffffff')
    with pytest.raises(Refusal):
        selection.select_snapshot([], 'latest')


def test_select_latest_of_several():
    snaps = [{'id': 'a' * 64, 'short_id': 'aaaaaaaa', 'time': '2025-01-02T00:00:00Z'},
             {'id': 'b' * 64, 'short_id': 'bbbbbbbb', 'time': '2025-01-03T00:00:00.1Z'},
             {'id': 'ab' * 32, 'short_id': 'abababab', 'time': '2025-01-01T00:00:00Z'}]
    assert selection.select_snapshot(snaps, 'latest')['short_id'] == 'bbbbbbbb'
    with pytest.raises(Refusal) as exc:
        selection.select_snapshot(snaps, 'a')  # ambiguous prefix
    assert 'matches 2 snapshots' in str(exc.value)


@pytest.mark.parametrize('version', VERSIONS)
def test_resolve_source_glob(version):
    snap = parsers.parse_json_lines(fixture('snapshots_%s.json' % version))[0]
    for pattern in ('*/snapshots/backup_*/homes', '/W/mnt/storage/snapshots/backup_*/homes', 'homes'):
        assert selection.resolve_source(pattern, snap) == HOMES
    with pytest.raises(Refusal) as exc:
        selection.resolve_source('*/snapshots/backup_*/*', snap)
    assert 'matches 2 directories' in str(exc.value) and 'docker-volumes' in str(exc.value)
    with pytest.raises(Refusal) as exc:
        selection.resolve_source('*/backup_*/nothing', snap, deep_dirs=lambda: [])
    assert 'matches 0 directories' in str(exc.value)
    # deeper than the backed-up paths: found through the listing
    assert selection.resolve_source('*/homes/alice', snap, deep_dirs=lambda: [HOMES + '/alice']) == HOMES + '/alice'
    assert selection.resolve_source(None, snap) == '/'


def test_glob_match_components():
    assert patterns.glob_match('*/snapshots/backup_*/homes', '/mnt/storage/snapshots/backup_1/homes')
    assert not patterns.glob_match('*/snapshots/backup_*/homes', '/mnt/storage/snapshots/backup_1/homes/x')
    assert not patterns.glob_match('/mnt/*/homes', '/mnt/storage/snapshots/homes')  # * is one component
    assert patterns.glob_match('/mnt/*/homes', '/mnt/storage/homes')


@pytest.mark.parametrize('version', VERSIONS)
def test_parse_listing(version):
    root, entries = parsers.parse_listing(fixture('ls_homes_%s.ndjson' % version), HOMES)
    assert root is not None and root['type'] == 'dir'
    assert set(entries) == {'alice', 'alice/.ssh', 'alice/notes.txt', 'alice/link', 'bob',
                            'bob/zeros.bin'}
    assert entries['alice/notes.txt']['mode'] == 0o600 and entries['alice/notes.txt']['size'] == 6
    assert entries['alice/link']['type'] == 'symlink'
    assert entries['bob/zeros.bin']['size'] == 70000
    assert parsers.totals(entries) == {'files': 2, 'bytes': 70006, 'entries': 6}


def test_include_exclude_matching():
    entries = parsers.parse_listing(fixture('ls_homes_0.14.ndjson'), HOMES)[1]
    only_bob = patterns.filter_entries(entries, ['/bob'], [])
    assert set(only_bob) == {'bob', 'bob/zeros.bin'}
    no_bins = patterns.filter_entries(entries, [], ['*.bin'])
    assert 'bob/zeros.bin' not in no_bins and 'bob' in no_bins
    deep = patterns.filter_entries(entries, ['notes.txt'], [])
    # restic creates no directory that leads to nothing included (issue 10, item 10)
    assert set(deep) == {'alice', 'alice/notes.txt'}
    assert patterns.translate_pattern('/bob', HOMES) == HOMES + '/bob'
    assert patterns.translate_pattern('*.bin', HOMES) == HOMES + '/**/*.bin'
    assert patterns.pattern_matches('/a/**/c', 'a/b/x/c/d')


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('kind', ['wrong_password', 'repo_missing', 'locked'])
def test_classify_errors(version, kind):
    rc, err = err_and_rc('err_%s_%s.txt' % (kind, version))
    expected = {'repo_missing': 'repository_missing'}.get(kind, kind)
    assert client.classify_error(rc, err) == expected
    if version == '0.18':
        assert rc == client.ERROR_KINDS[expected]['code']
        assert parsers.tool_message(err).startswith(('Fatal', 'unable'))
    else:
        assert rc == 1  # restic 0.14 has no specific exit codes: the message decides


@pytest.mark.parametrize('version', VERSIONS)
def test_connection_refused_is_transient_not_missing(version):
    rc, err = err_and_rc('err_rest_refused_%s.txt' % version)
    assert 'Is there a repository' in err
    assert client.classify_error(rc, err) == 'transient'


def test_restore_summaries_018():
    docs = parsers.parse_json_lines(fixture('restore_0.18.ndjson'))
    summary = [d for d in docs if d.get('message_type') == 'summary'][-1]
    assert summary['files_restored'] == summary['total_files']
    dry = [d for d in parsers.parse_json_lines(fixture('restore_dry_run_0.18.ndjson'))
           if d.get('message_type') == 'summary'][-1]
    assert dry['files_skipped'] == 2  # the two regular files were unchanged


@pytest.mark.parametrize('version', VERSIONS)
def test_forget_grouping_and_check(version):
    groups = parsers.parse_json_lines(fixture('forget_%s.json' % version))
    assert groups[0]['host'] == 'train' and groups[0]['tags'] == ['train-backups']
    assert groups[0]['paths'] is None  # host,tags grouping ignores the timestamped paths
    result = parsers.parse_check(fixture('check_%s.txt' % version), '', 0)
    assert result['ok'] and result['no_errors_found']


def test_group_snapshots_by_host_tags():
    snaps = [{'id': str(i) * 64, 'short_id': str(i) * 8, 'hostname': 'train', 'tags': ['t'],
              'paths': ['/mnt/storage/snapshots/backup_%d/homes' % i],
              'time': '2025-01-0%dT00:00:00Z' % i} for i in (1, 2, 3)]
    now = parsers.parse_time_ns('2025-01-04T00:00:00Z') / 1e9
    groups = parsers.group_snapshots(snaps, ('host', 'tags'), now=now)
    assert len(groups) == 1 and groups[0]['count'] == 3
    assert groups[0]['latest']['short_id'] == '33333333' and groups[0]['age_seconds'] == 86400
    assert len(parsers.group_snapshots(snaps, ('host', 'paths'), now=now)) == 3


def test_state_matching_and_redaction():
    want = {'format': 1, 'snapshot_id': 'x', 'source': '/s', 'include': [], 'exclude': [],
            'files': 1, 'bytes': 2, 'delete': True}
    assert not target.state_matches(dict(want, delete=False), want)
    assert target.state_matches(dict(want), dict(want, delete=False))
    assert not target.state_matches(dict(want, snapshot_id='y'), want)
    assert not target.state_matches(None, want)
    assert client.redact_repository('rest:https://u:secret@h:8000/r') == 'rest:https://u:***@h:8000/r'
    assert client.redact_repository('rclone:gdrive:backups/x') == 'rclone:gdrive:backups/x'


@pytest.mark.parametrize('version', VERSIONS)
def test_parse_one_level_listing(version):
    """``restic ls --json <id> <dir>`` without --recursive: the source node for the target."""
    root, entries = parsers.parse_listing(fixture('ls_homes_top_%s.ndjson' % version), HOMES)
    assert root is not None and root['type'] == 'dir' and root['mode'] == 0o755
    assert set(entries) == {'alice', 'bob'}  # direct children only


def _fixture_tree(root):
    """The homes tree that capture.sh backs up, built on disk (what restic restores)."""
    os.makedirs(os.path.join(root, 'alice', '.ssh'))
    os.makedirs(os.path.join(root, 'bob'))
    with open(os.path.join(root, 'alice', 'notes.txt'), 'w') as handle:
        handle.write('hello\n')
    os.chmod(os.path.join(root, 'alice', 'notes.txt'), 0o600)
    with open(os.path.join(root, 'bob', 'zeros.bin'), 'wb') as handle:
        handle.write(b'\0' * 70000)
    os.symlink('notes.txt', os.path.join(root, 'alice', 'link'))


@pytest.mark.parametrize('version', VERSIONS)
def test_scan_tree_counts_like_the_listing(version, tmp_path):
    root = str(tmp_path / 'homes')
    _fixture_tree(root)
    listed_root, listed = parsers.parse_listing(fixture('ls_homes_%s.ndjson' % version), HOMES)
    open(os.path.join(root, target.DEFAULT_STATE_FILE), 'w').close()
    os.mkdir(os.path.join(root, target.STAGING_NAME))
    scanned_root, scanned = compare.scan_tree(root, skip={target.DEFAULT_STATE_FILE, target.STAGING_NAME})
    assert scanned_root['type'] == listed_root['type'] == 'dir'
    assert set(scanned) == set(listed)
    assert dict((k, n['type']) for k, n in scanned.items()) == \
        dict((k, n['type']) for k, n in listed.items())
    assert parsers.totals(scanned) == parsers.totals(listed) == {'files': 2, 'bytes': 70006, 'entries': 6}
    assert scanned['alice/notes.txt']['mode'] == 0o600
    assert scanned['alice/link']['size'] == 0  # a symlink's own size is not file bytes
    # a file where a directory was expected, and nothing at all
    assert compare.scan_tree(os.path.join(root, 'bob', 'zeros.bin'))[0]['type'] == 'file'
    assert compare.scan_tree(os.path.join(root, 'nothing')) == (None, {})


def test_scan_tree_keeps_special_bits_and_owner(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o2775)
    os.utime(str(shared), ns=(1500000000123456789, 1500000000123456789))
    root, entries = compare.scan_tree(str(tmp_path))
    node = entries['shared']
    assert node['mode'] == 0o2775 and node['mtime_ns'] == 1500000000123456789
    assert (node['uid'], node['gid']) == (os.getuid(), os.getgid())


def test_is_empty_dir(tmp_path):
    skip = {target.DEFAULT_STATE_FILE, target.STAGING_NAME}
    assert compare.is_empty_dir(str(tmp_path / 'absent'), skip)
    assert compare.is_empty_dir(str(tmp_path), skip)
    (tmp_path / target.STAGING_NAME).mkdir()
    assert compare.is_empty_dir(str(tmp_path), skip)
    (tmp_path / 'x').write_text('')
    assert not compare.is_empty_dir(str(tmp_path), skip)
    assert not compare.is_empty_dir(str(tmp_path / 'x'), skip)  # a file is no empty directory


@pytest.mark.parametrize('method,loaded,empty,source,subfolder,expected', [
    ('native', True, True, HOMES, True, 'loaded'),       # verify/delete/check/diff
    ('native', False, True, HOMES, True, 'scan+root'),   # 0.17+, fresh target
    ('native', False, True, '/', True, 'scan'),          # whole snapshot: no root node
    ('native', False, False, HOMES, True, 'full'),       # target already holds files
    ('staging', False, False, HOMES, False, 'scan'),     # 0.14: the staged subtree
    ('staging', False, True, '/', False, 'scan'),
    ('staging', False, False, HOMES, True, 'scan+root'),  # 0.17+ with include and exclude
])
def test_listing_plan(method, loaded, empty, source, subfolder, expected):
    assert strategies.listing_mode(method, loaded, empty, source, subfolder) == expected
