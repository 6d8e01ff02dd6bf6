"""Helpers of the studio tests: key pairs in a temporary folder, an authenticating engine, and
the final outcome of a request as one word."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bridge.studio import keys


@dataclass(frozen=True)
class Keys:
    server_secret: Path
    server_public: Path
    client_secret: Path
    client_public: Path
    stranger_secret: Path
    allowed: Path


def make_keys(folder: Path) -> Keys:
    """A server pair, an allowed client pair and a stranger's pair (not allowed)."""
    server_public, server_secret = keys.generate(folder / "server", "server")
    client_public, client_secret = keys.generate(folder / "laptop", "laptop")
    _, stranger_secret = keys.generate(folder / "stranger", "stranger")
    allowed = folder / "allowed"
    allowed.mkdir()
    (allowed / "laptop.key").write_bytes(client_public.read_bytes())
    return Keys(server_secret, server_public, client_secret, client_public, stranger_secret, allowed)


