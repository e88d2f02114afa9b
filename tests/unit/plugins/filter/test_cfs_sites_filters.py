# -*- coding: utf-8 -*-
"""plugins/filter/cfs_sites.py: site endpoints from the inventory, link and conflict sentences."""

from ansible_collections.resilience.dr.plugins.filter import cfs_sites


def test_site_endpoints_follow_the_inventory_order_and_skip_other_sites():
    groups = {'claudefs': ['a1', 'b1', 'a2', 'x']}
    hostvars = {'a1': {'claudefs_site': 'site-a', 'claudefs_node_endpoint': 'http://a1:8443'},
                'b1': {'claudefs_site': 'site-b', 'claudefs_node_endpoint': 'http://b1:8443'},
                'a2': {'claudefs_site': 'site-a', 'claudefs_node_endpoint': 'http://a2:8443'},
                'x': {}}
    assert cfs_sites.cfs_site_endpoints('site-a', groups, hostvars) == [
        'http://a1:8443', 'http://a2:8443']
    assert cfs_sites.cfs_site_endpoints('site-c', groups, hostvars) == []
    assert cfs_sites.cfs_site_endpoints('site-a', {}, hostvars) == []


def test_link_line():
    assert cfs_sites.cfs_link_line({'source': 'site-a', 'target': 'site-b', 'known': False}) == \
        'site-a -> site-b: site-a cannot be asked (lag unknown)'
    assert cfs_sites.cfs_link_line({'source': 'site-b', 'target': 'site-a', 'known': True,
                                    'lag_ops': 3, 'lag_seconds': 1.25}) == \
        'site-b -> site-a: 3 operation(s) behind, oldest 1.2 s'


def test_conflict_line_prefers_the_modules_sentence():
    assert cfs_sites.cfs_conflict_line({'line': 'as said'}) == 'as said'
    assert cfs_sites.cfs_conflict_line({'path': 'p', 'inode': 4, 'type': 'SplitBrain',
                                        'winner': 'site-b'}) == 'p (inode 4, SplitBrain): winner site-b'
