"""The engine's connections: who is behind each routing id (CURVE key, else address), what kind
of socket it is (a REQ socket takes exactly one message per request), and which file descriptor
carries it, so a connection that closes can take its sessions and its requests with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bridge.serve.sockets import Inbound


@dataclass
class Peer:
    """One connection to the engine's client socket."""

    routing_id: bytes
    owner: str  # its CURVE key (Z85), else its IP address, else "local": who may reach its sessions
    socket_type: str  # "DEALER", "REQ", ...
    fd: int
    keyed: bool  # authenticated with a CURVE key

    @property
    def label(self) -> str:
        """How logs name it: the start of its key, or its address, and its routing id."""
        who = self.owner[:8] if self.keyed else self.owner
        return f"{who}/{self.routing_id.hex()[:8]}"

    @property
    def one_reply(self) -> bool:
        """A REQ socket: it reads exactly one message per request, the final reply."""
        return self.socket_type == "REQ"


class Peers:
    """Connections by routing id and by file descriptor. A descriptor that shows up under a new
    routing id means its old connection closed (the system reuses descriptors). The monitor's
    report of that close may come later than the new connection's first message: it then
    names the descriptor again, and is known to be about the old connection, not the new one."""

    def __init__(self) -> None:
        self._by_id: dict[bytes, Peer] = {}
        self._by_fd: dict[int, bytes] = {}
        self._stale: Counter[int] = Counter()  # close reports still to come for reused descriptors

    def __len__(self) -> int:
        return len(self._by_id)

    def seen(self, inbound: Inbound) -> tuple[Peer, Peer | None]:
        """The peer that sent ``inbound``, and a peer whose connection is now known to be closed."""
        rid = inbound.routing_id
        peer = self._by_id.get(rid)
        if peer is None:
            owner = inbound.user or inbound.address or "local"
            peer = Peer(rid, owner, inbound.socket_type, inbound.fd, bool(inbound.user))
            self._by_id[rid] = peer
        closed = None
        if inbound.fd >= 0:
            previous = self._by_fd.get(inbound.fd)
            if previous is not None and previous != rid:
                closed = self._by_id.pop(previous, None)
                self._stale[inbound.fd] += 1  # the monitor has yet to report that close
            self._by_fd[inbound.fd] = rid
            peer.fd = inbound.fd
        return peer, closed

    def closed(self, fd: int) -> Peer | None:
        """The peer whose connection on ``fd`` closed (forgotten here), if one was known."""
        if self._stale[fd] > 0:  # the late report of a close already inferred from reuse
            self._stale[fd] -= 1
            return None
        rid = self._by_fd.pop(fd, None)
        return self._by_id.pop(rid, None) if rid is not None else None

    def get(self, routing_id: bytes) -> Peer | None:
        return self._by_id.get(routing_id)

    def of_owner(self, owner: str) -> list[Peer]:
        return [peer for peer in self._by_id.values() if peer.owner == owner]

    def forget(self, peer: Peer) -> None:
        self._by_id.pop(peer.routing_id, None)
        if self._by_fd.get(peer.fd) == peer.routing_id:
            del self._by_fd[peer.fd]
