"""Real packet drops between loopback addresses, with nftables.

One table per emulator instance, ``ip cfsemu_<net>``, and nothing else is touched.  It holds two
address sets, ``side_a`` and ``side_b``, and a chain on the *input* hook that drops every packet
from one side to the other, TCP and UDP counted separately (plus a rule for anything else, ICMP
for instance).  Dropping on input (not output) makes the loss silent, as on a real network: the
sender's ``send()`` succeeds and the packet vanishes, so Raft and SWIM see timeouts, not errors.

A partition replaces the table (fresh counters); ``heal`` empties the sets and keeps the rules
and their counters, so the proof that the last fault fired can be read after it ended;
``remove`` deletes the table.
"""

import json
import subprocess

RULES = (('a_to_b', 'side_a', 'side_b', 'tcp'), ('a_to_b', 'side_a', 'side_b', 'udp'),
         ('b_to_a', 'side_b', 'side_a', 'tcp'), ('b_to_a', 'side_b', 'side_a', 'udp'),
         ('a_to_b', 'side_a', 'side_b', 'other'), ('b_to_a', 'side_b', 'side_a', 'other'))


class NftError(RuntimeError):
    pass


def _nft(args, stdin=None):
    proc = subprocess.run(['nft'] + list(args), input=stdin, capture_output=True, text=True,
                          env={'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
    if proc.returncode != 0:
        raise NftError('nft %s failed (rc=%d): %s' % (' '.join(args), proc.returncode,
                                                        proc.stderr.strip()))
    return proc.stdout


def table_name(net):
    return 'cfsemu_%d' % int(net)


def _elements(addresses):
    return ', '.join(sorted(set(addresses)))


def ruleset(net, side_a, side_b):
    """The nft script that (re)creates the instance's table with these two sides."""
    name = table_name(net)
    lines = ['table ip %s {' % name,
             '  set side_a { type ipv4_addr; %s}' % (
                 'elements = { %s }; ' % _elements(side_a) if side_a else ''),
             '  set side_b { type ipv4_addr; %s}' % (
                 'elements = { %s }; ' % _elements(side_b) if side_b else ''),
             '  chain input {',
             '    type filter hook input priority -5; policy accept;']
    for direction, src, dst, proto in RULES:
        match = 'meta l4proto %s ' % proto if proto != 'other' else \
            'meta l4proto != { tcp, udp } '
        lines.append('    ip saddr @%s ip daddr @%s %scounter drop comment "%s %s"'
                     % (src, dst, match, direction, proto))
    lines += ['  }', '}']
    return '\n'.join(lines) + '\n'


class Firewall:
    """The nftables table of one emulator instance (``net`` is the X of 127.X.0.0/16)."""

    def __init__(self, net):
        self.net = int(net)
        self.table = table_name(net)

    def exists(self):
        proc = subprocess.run(['nft', 'list', 'table', 'ip', self.table], capture_output=True,
                              text=True, env={'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin'})
        return proc.returncode == 0

    def apply(self, side_a, side_b):
        """Drop everything between the two address groups (replacing any earlier fault)."""
        overlap = set(side_a) & set(side_b)
        if overlap:
            raise ValueError('an address cannot be on both sides: %s' % sorted(overlap))
        if not side_a or not side_b:
            raise ValueError('a partition needs addresses on both sides')
        script = ruleset(self.net, side_a, side_b)
        if self.exists():
            script = 'delete table ip %s\n' % self.table + script
        _nft(['-f', '-'], stdin=script)

    def heal(self):
        """Stop dropping (empty both sets); the rules and their counters stay readable."""
        if self.exists():
            _nft(['-f', '-'], stdin='flush set ip %s side_a\nflush set ip %s side_b\n'
                 % (self.table, self.table))

    def remove(self):
        if self.exists():
            _nft(['delete', 'table', 'ip', self.table])

    def sides(self):
        if not self.exists():
            return [], []
        data = json.loads(_nft(['-j', 'list', 'table', 'ip', self.table]))
        sides = {'side_a': [], 'side_b': []}
        for item in data.get('nftables', []):
            if 'set' in item and item['set']['name'] in sides:
                sides[item['set']['name']] = sorted(str(e) for e in item['set'].get('elem', []))
        return sides['side_a'], sides['side_b']

    def counters(self):
        """Packets and bytes dropped per rule, with totals: the proof a partition fired."""
        result = {'table': self.table, 'exists': False, 'rules': [], 'packets': 0, 'bytes': 0,
                  'tcp_packets': 0, 'udp_packets': 0}
        if not self.exists():
            return result
        result['exists'] = True
        data = json.loads(_nft(['-j', 'list', 'table', 'ip', self.table]))
        for item in data.get('nftables', []):
            rule = item.get('rule')
            if not rule:
                continue
            counter = next((e['counter'] for e in rule.get('expr', []) if 'counter' in e), None)
            if counter is None:
                continue
            comment = rule.get('comment', '')
            result['rules'].append({'rule': comment, 'packets': counter['packets'],
                                    'bytes': counter['bytes']})
            result['packets'] += counter['packets']
            result['bytes'] += counter['bytes']
            proto = comment.split()[-1] if comment else ''
            if proto in ('tcp', 'udp'):
                result['%s_packets' % proto] += counter['packets']
        result['side_a'], result['side_b'] = self.sides()
        result['active'] = bool(result['side_a'] and result['side_b'])
        return result
