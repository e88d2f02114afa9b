# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ClaudeFS cross-site roles (failover, failback, conflicts, S3).

cfs_site_endpoints(site, groups, hostvars)  admin endpoints of the claudefs hosts of a site
cfs_link_line(link)                         one replication link (cfs_replication) as a sentence
cfs_conflict_line(conflict)                 one conflict and its resolution as a sentence
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def cfs_site_endpoints(site, groups, hostvars):
    out = []
    for host in (groups or {}).get('claudefs', []):
        hv = hostvars[host]
        if hv.get('claudefs_site') == site and hv.get('claudefs_node_endpoint'):
            out.append(hv['claudefs_node_endpoint'])
    return out


def cfs_link_line(link):
    if not link.get('known'):
        return '%s -> %s: %s cannot be asked (lag unknown)' % (
            link.get('source'), link.get('target'), link.get('source'))
    lag = link.get('lag_seconds')
    return '%s -> %s: %d operation(s) behind%s' % (
        link.get('source'), link.get('target'), int(link.get('lag_ops') or 0),
        ', oldest %.1f s' % lag if lag else '')


def cfs_conflict_line(conflict):
    if conflict.get('line'):
        return conflict['line']
    return '%s (inode %s, %s): winner %s' % (conflict.get('path'), conflict.get('inode'),
                                             conflict.get('type'), conflict.get('winner'))


class FilterModule(object):
    def filters(self):
        return {'cfs_site_endpoints': cfs_site_endpoints, 'cfs_link_line': cfs_link_line,
                'cfs_conflict_line': cfs_conflict_line}
