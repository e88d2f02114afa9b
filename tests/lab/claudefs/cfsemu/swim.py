"""SWIM-style failure detection over UDP: ping, ack, indirect ping-req, suspicion timeouts.

Every interval a node pings each known member (6-ish nodes: cheap) and asks two others to
ping-req members it has not heard from for two intervals.  A member is Alive while heard within
``swim_suspect_s``, Suspect until ``swim_dead_s``, then Dead.  Pings piggyback the sender's
control version (so stale nodes pull the newer record) and its shard view (leader, commit index
and last sequence per shard) that force-leader planning uses as the last known leader state.
Packets really travel over the nodes' loopback addresses, so firewall rules drop them.
"""

import json
import logging
import random
import socket
import threading
import time

from cfsemu.control import key as control_key

LOG = logging.getLogger('cfsemu.swim')


class Swim:
    def __init__(self, node):
        self.node = node
        self.cluster = node.cluster
        t = self.cluster.timeouts
        self.interval = t['swim_interval_ms'] / 1000.0
        self.suspect_s = float(t['swim_suspect_s'])
        self.dead_s = float(t['swim_dead_s'])
        self.started = time.monotonic()
        self.heard = {}          # node -> monotonic time last heard (directly or indirectly)
        self.views = {}          # node -> last shard view it gossiped
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.cluster.address(node.name), int(self.cluster['swim_port'])))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.urgent = threading.Event()

    def members(self):
        nodes = self.node.control.snapshot()['nodes']
        return [n for n, spec in nodes.items() if spec['state'] != 'removed' and
                n != self.node.name]

    def state(self, member):
        """(SWIM state, age in seconds since last heard)."""
        if member == self.node.name:
            return 'Alive', 0.0
        with self.lock:
            heard = self.heard.get(member)
        age = time.monotonic() - (heard if heard is not None else self.started)
        if age < self.suspect_s:
            return 'Alive', age
        if age < self.dead_s:
            return 'Suspect', age
        return 'Dead', age

    def heard_within(self, member, window):
        with self.lock:
            heard = self.heard.get(member)
        return heard is not None and time.monotonic() - heard <= window

    def _send(self, member, msg):
        try:
            address = self.node.control.peek()['nodes'][member]['address']
            self.sock.sendto(json.dumps(msg).encode(), (address, int(self.cluster['swim_port'])))
        except (OSError, KeyError):
            pass

    def _msg(self, kind, **extra):
        return dict(extra, type=kind, sender=self.node.name, control=self.node.control.version,
                    control_key=list(control_key(self.node.control.peek())),
                    view=self.node.shard_view())

    def _heard(self, member, view=None):
        with self.lock:
            self.heard[member] = time.monotonic()
            if view is not None:
                self.views[member] = view

    def recv_loop(self):
        while not self.stopping.is_set():
            try:
                data, _addr = self.sock.recvfrom(65536)
                msg = json.loads(data)
            except (socket.timeout, ValueError):
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                continue
            sender = msg.get('sender')
            if not sender:
                continue
            self._heard(sender, msg.get('view'))
            if self._newer_control(msg):
                self.node.pull_control(sender)
            else:
                self.node.control_fresh.set()
            kind = msg.get('type')
            if kind == 'ping':
                self._send(sender, self._msg('ack', origin=msg.get('origin')))
            elif kind == 'ping-req':
                self._send(msg['target'], self._msg('ping', origin=sender))
            elif kind == 'ack' and msg.get('origin') and msg['origin'] != self.node.name:
                self._send(msg['origin'], self._msg('indirect-ack', target=sender))
            elif kind == 'indirect-ack' and msg.get('target'):
                self._heard(msg['target'])

    def _newer_control(self, msg):
        """The sender's control record wins over ours: a higher version, or the same version
        written later (both sides of a partition bumped it: a fence on one, a failover on the
        other; without the tie-break they never converge)."""
        theirs = msg.get('control_key')
        if isinstance(theirs, list) and len(theirs) == 3:
            return tuple(theirs) > control_key(self.node.control.peek())
        return msg.get('control', 0) > self.node.control.version

    def announce(self):
        """Gossip now (a leader applied a write): the survivors' "last known" leader state
        for force-leader planning then trails the acknowledgements by a packet, not a round."""
        self.urgent.set()

    def probe_loop(self):
        last = 0.0
        while not self.stopping.is_set():
            self.urgent.wait(self.interval)
            self.urgent.clear()
            if self.stopping.is_set():
                return
            pause = 0.02 - (time.monotonic() - last)     # at most 50 rounds a second
            if pause > 0:
                time.sleep(pause)
            last = time.monotonic()
            members = self.members()
            for member in members:
                self._send(member, self._msg('ping'))
            now = time.monotonic()
            for member in members:
                with self.lock:
                    heard = self.heard.get(member, self.started)
                if now - heard > 2 * self.interval:
                    helpers = [m for m in members if m != member]
                    for helper in random.sample(helpers, min(2, len(helpers))):
                        self._send(helper, self._msg('ping-req', target=member))

    def start(self):
        for target in (self.recv_loop, self.probe_loop):
            threading.Thread(target=target, daemon=True, name='swim').start()

    def stop(self):
        self.stopping.set()
        self.urgent.set()
        self.sock.close()
