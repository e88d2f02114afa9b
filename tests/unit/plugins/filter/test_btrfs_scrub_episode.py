# -*- coding: utf-8 -*-
"""The corruption ladder's scrub episode (plugins/filter/btrfs_ladder.py over
module_utils/btrfs/ladder.py): rung 1 never reuses a scrub from before the damage, and a re-run
of the same episode reuses the episode's own scrub."""

import base64
import json

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.filter.btrfs_ladder import btrfs_scrub_episode
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.ladder import scrub_episode

UUID = '5b1e0c1e-1111-4c2a-9d7e-0123456789ab'
NOW = '2026-11-30T12:00:00+00:00'
NIGHTLY = '2026-11-30T03:10:00+00:00'


def slurped(record):
    return {'content': base64.b64encode(json.dumps(record).encode()).decode(),
            'encoding': 'base64', 'source': '/var/lib/resilience-dr/btrfs-ladder.json'}


def last_scrub(now=NOW, finished=NIGHTLY, uuid=UUID):
    """A check-mode btrfs_scrub result read with max_age 0 (threshold = the host's clock)."""
    return {'changed': False, 'uuid': uuid, 'threshold': now,
            'previous': {'status': 'finished', 'finished': finished,
                         'uncorrectable_errors': 0, 'corrected_errors': 0}}


MISSING = {'failed': True, 'msg': 'file not found: /var/lib/resilience-dr/btrfs-ladder.json'}


def test_the_first_run_begins_an_episode_and_refuses_last_nights_clean_scrub():
    episode = btrfs_scrub_episode(MISSING, last_scrub(), '1d')
    # The scrub must finish after now: the nightly scrub (03:10) is older, so rung 1 scrubs.
    assert episode['new'] is True and episode['since'] == NOW
    assert episode['record'] == {'uuid': UUID, 'begun': NOW,
                                 'baseline_scrub_finished': NIGHTLY}


def test_a_rerun_of_the_same_episode_reuses_its_own_scrub():
    record = {'uuid': UUID, 'begun': NOW, 'baseline_scrub_finished': NIGHTLY}
    episode = btrfs_scrub_episode(slurped(record), last_scrub(now='2026-11-30T12:20:00+00:00',
                                                              finished='2026-11-30T12:05:00Z'),
                                  '1d')
    assert episode == {'new': False, 'since': NOW, 'record': record}


def test_an_old_record_begins_a_new_episode():
    record = {'uuid': UUID, 'begun': '2026-11-28T12:00:00+00:00'}
    episode = btrfs_scrub_episode(slurped(record), last_scrub(), '1d')
    assert episode['new'] is True and episode['since'] == NOW


def test_max_age_zero_makes_every_run_a_new_episode():
    record = {'uuid': UUID, 'begun': NOW}
    episode = btrfs_scrub_episode(slurped(record), last_scrub(), '0')
    assert episode['new'] is True and episode['since'] == NOW


def test_another_filesystem_or_a_record_from_the_future_begins_a_new_episode():
    other = {'uuid': 'another', 'begun': NOW}
    assert btrfs_scrub_episode(slurped(other), last_scrub(), '1d')['new'] is True
    future = {'uuid': UUID, 'begun': '2026-12-01T12:00:00+00:00'}
    assert btrfs_scrub_episode(slurped(future), last_scrub(), '1d')['new'] is True


@pytest.mark.parametrize('content', ['bm90IGpzb24=', base64.b64encode(b'[1, 2]').decode(), ''])
def test_an_unreadable_record_begins_a_new_episode(content):
    episode = btrfs_scrub_episode({'content': content}, last_scrub(), '1d')
    assert episode['new'] is True


def test_a_record_with_an_unreadable_time_begins_a_new_episode():
    assert scrub_episode({'uuid': UUID, 'begun': 'yesterday'}, UUID, None, NOW, '1d')['new']


def test_bad_input_is_refused_with_what_to_do():
    with pytest.raises(AnsibleFilterError, match='max_age 0'):
        btrfs_scrub_episode(MISSING, {'skipped': True}, '1d')
    with pytest.raises(AnsibleFilterError, match='train_btrfs_repair_scrub_max_age'):
        btrfs_scrub_episode(MISSING, last_scrub(), 'a day')
