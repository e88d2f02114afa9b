"""Bind every outgoing IPv4 socket of this process to the node's own loopback address.

On loopback the kernel would pick 127.0.0.1 as source address; the harness' nftables rules tell
nodes apart by ``ip saddr``, so a node's Raft, HTTP and S3 connections must leave from its own
address.  Installed once at node start (pysyncobj's TcpConnection calls ``socket.connect``).
"""

import socket

_ORIGINAL = {}


def _bound(sock, address):
    if sock.family != socket.AF_INET:
        return
    try:
        if sock.getsockname()[1] == 0:
            sock.bind((address, 0))
    except OSError:
        pass


def install(address):
    if _ORIGINAL:
        return
    _ORIGINAL['connect'] = socket.socket.connect
    _ORIGINAL['connect_ex'] = socket.socket.connect_ex

    def connect(self, target):
        _bound(self, address)
        return _ORIGINAL['connect'](self, target)

    def connect_ex(self, target):
        _bound(self, address)
        return _ORIGINAL['connect_ex'](self, target)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
