# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path patterns: ``source_path`` globs and restic's include/exclude rules, as restic applies them.

Two kinds of pattern, both matched component by component (``*`` never crosses ``/``):

``source_path`` (:func:`glob_match`)
    names one directory of a snapshot; absolute patterns match a whole path, relative ones
    its last components (``*/snapshots/backup_*/homes``).
``include`` / ``exclude`` (:func:`pattern_matches`, :func:`filter_entries`)
    select entries below the source; ``/``-anchored at the source, otherwise at any depth;
    ``**`` spans components; a match on a directory selects everything below it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch


def split_path(path):
    return [c for c in path.split('/') if c]


def glob_match(pattern, path):
    """Match a directory path against ``source_path``, component by component.

    ``*`` never crosses ``/``.  An absolute pattern must match the whole path; a relative
    pattern (``*/snapshots/backup_*/homes``) matches the path's last components.
    """
    pat = split_path(pattern)
    comps = split_path(path)
    if pattern.startswith('/'):
        if len(pat) != len(comps):
            return False
    else:
        if len(pat) > len(comps) or not pat:
            return False
        comps = comps[len(comps) - len(pat):]
    return all(fnmatch.fnmatchcase(c, p) for c, p in zip(comps, pat))


def _match_components(pat, comps):
    """restic-style component match with ``**`` (any number of components)."""
    if not pat:
        return True  # the pattern matched a prefix: children of a match match too
    if pat[0] == '**':
        return any(_match_components(pat[1:], comps[i:]) for i in range(len(comps) + 1))
    if not comps:
        return False
    return fnmatch.fnmatchcase(comps[0], pat[0]) and _match_components(pat[1:], comps[1:])


def pattern_matches(pattern, relpath):
    """Does a restore include/exclude ``pattern`` select ``relpath`` (relative to the source)?

    A pattern starting with ``/`` is anchored at the source; any other pattern may match at
    any depth.  A match on a directory selects everything below it.
    """
    pat = split_path(pattern)
    comps = split_path(relpath)
    if pattern.startswith('/'):
        return _match_components(pat, comps)
    return _match_components(['**'] + pat, comps)


def pattern_may_match_below(pattern, relpath):
    """Could something below directory ``relpath`` match ``pattern``? (dirs kept for includes)"""
    pat = split_path(pattern)
    comps = split_path(relpath)
    if not pattern.startswith('/'):
        return True
    for p, c in zip(pat, comps):
        if p == '**':
            return True
        if not fnmatch.fnmatchcase(c, p):
            return False
    return len(pat) > len(comps)


def selected(relpath, node_type, include, exclude):
    """Whether a restore with these patterns brings ``relpath`` back (before pruning dirs)."""
    if any(pattern_matches(p, relpath) for p in exclude or []):
        return False
    if include:
        if any(pattern_matches(p, relpath) for p in include):
            return True
        return node_type == 'dir' and any(pattern_may_match_below(p, relpath) for p in include)
    return True


def filter_entries(entries, include, exclude):
    """The entries a restore with these patterns brings back, exactly as restic does it.

    With include patterns, a directory that no pattern selects itself is only restored when
    something selected lies below it (restic creates no directory that leads to nothing).
    """
    out = dict((rel, node) for rel, node in entries.items()
               if selected(rel, node['type'], include, exclude))
    if not include:
        return out
    keep = set()
    for rel, node in out.items():
        if node['type'] != 'dir' or any(pattern_matches(p, rel) for p in include):
            comps = rel.split('/')
            keep.update('/'.join(comps[:i]) for i in range(1, len(comps) + 1))
    return dict((rel, node) for rel, node in out.items() if rel in keep)


def excluded_by(patterns):
    """A ``select(relpath)`` for :func:`target.prune_staged`: true where a pattern matches,
    or None when there are no patterns (then the staged tree is not walked at all)."""
    if not patterns:
        return None

    def select(rel):
        return any(pattern_matches(p, rel) for p in patterns)
    return select


def translate_pattern(pattern, source):
    """A pattern relative to the subtree -> a pattern on the whole snapshot (staging method)."""
    base = source.rstrip('/')
    if pattern.startswith('/'):
        return base + pattern
    return base + '/**/' + pattern
