"""Connections by descriptor (bridge/serve/peers.py): a reused descriptor closes the old
connection, and the monitor's late report of that close never takes the new one with it."""

from __future__ import annotations

from bridge.serve.peers import Peers
from bridge.serve.sockets import Inbound


def message(routing_id: bytes, fd: int) -> Inbound:
    return Inbound([routing_id, b"", b"{}"], 2, False, "", "127.0.0.1", "DEALER", fd)


def test_a_close_reported_before_the_descriptor_is_reused() -> None:
    peers = Peers()
    peers.seen(message(b"A", 7))
    assert peers.closed(7).routing_id == b"A"
    peer, closed = peers.seen(message(b"B", 7))
    assert peer.routing_id == b"B" and closed is None and peers.get(b"B") is peer


def test_a_close_reported_after_the_new_connection_spoke_spares_it() -> None:
    """A closes, B gets A's descriptor and speaks first, then the monitor reports A's close."""
    peers = Peers()
    peers.seen(message(b"A", 7))
    peer, closed = peers.seen(message(b"B", 7))
    assert closed is not None and closed.routing_id == b"A"
    assert peers.closed(7) is None  # the late report is A's
    assert peers.get(b"B") is peer
    assert peers.closed(7) is peer  # B's own close
