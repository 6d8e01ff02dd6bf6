"""CURVE keys: ZeroMQ's own authentication and encryption for the studio server.

A key pair is two files in ZeroMQ's certificate format: ``NAME.key`` (the public key, safe to
copy around) and ``NAME.key_secret`` (public and secret key; it never leaves its machine).

- The studio server binds with its secret file (``--server-key server.key_secret``) and accepts
  only clients whose public files lie in its allowed-keys folder (``--allowed-keys DIR``). The
  folder is read again when it changes, so adding a laptop needs no restart.
- A relay or a worker connects with the server's public file and its own secret file.

Binding an address other than loopback without keys is refused unless the admin says
``--insecure``; see :func:`check_bind`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from bridge.constants import KEYS_FOLDER, LOOPBACK_HOSTS

log = logging.getLogger(__name__)


class KeyFileError(ValueError):
    """A key file is missing or is not a ZeroMQ certificate; the message says which."""


def generate(folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` into ``folder``; refuses to overwrite."""
    if not name or any(c in name for c in "/\\:") or name.startswith("."):
        raise KeyFileError(f"key name must be a plain file name, got {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = folder / f"{name}.key", folder / f"{name}.key_secret"
    for path in (public, secret):
        if path.exists():
            raise KeyFileError(f"{path} exists; pick another --name or remove it first")
    made_public, made_secret = zmq.auth.create_certificates(folder, name)
    os.chmod(made_secret, 0o600)
    return Path(made_public), Path(made_secret)


def load_public(path: str | Path) -> bytes:
    """The public key of a ``.key`` or ``.key_secret`` file."""
    public, _ = _load(path)
    return public


def load_pair(path: str | Path) -> tuple[bytes, bytes]:
    """(public, secret) of a ``.key_secret`` file."""
    public, secret = _load(path)
    if secret is None:
        raise KeyFileError(f"{path} holds no secret key; give the .key_secret file")
    return public, secret


def _load(path: str | Path) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from None
    if not public:
        raise KeyFileError(f"{path} is not a ZeroMQ key file (make one with `dawbridge keys generate`)")
    return public, secret


@dataclass(frozen=True)
class ClientKeys:
    """What a relay or worker needs to reach a CURVE server."""

    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def load(cls, server_key: str | Path, client_key: str | Path) -> ClientKeys:
        public, secret = load_pair(client_key)
        return cls(load_public(server_key), public, secret)

    def apply(self, sock: zmq.Socket) -> None:
        """Set before connect."""
        sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_public)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)


@dataclass(frozen=True)
class ServerKeys:
    """The server's key pair and the folder of client public keys it accepts."""

    public: bytes
    secret: bytes
    allowed: Path

    @classmethod
    def load(cls, server_key: str | Path, allowed: str | Path) -> ServerKeys:
        folder = Path(allowed)
        if not folder.is_dir():
            raise KeyFileError(f"the allowed-keys folder {folder} does not exist")
        public, secret = load_pair(server_key)
        return cls(public, secret, folder)

    def apply(self, sock: zmq.Socket) -> None:
        """Set before bind."""
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)


class Gatekeeper:
    """The ZAP handler of one context: accepts the public keys in the allowed folder, and reads
    the folder again when it changes (:meth:`refresh`, called from the server's housekeeping)."""

    def __init__(self, context: zmq.Context, keys: ServerKeys) -> None:
        self.keys = keys
        self._auth = ThreadAuthenticator(context, log=logging.getLogger("bridge.studio.keys.zap"))
        self._stamp: tuple[float, int] | None = None

    def start(self) -> None:
        self._auth.start()
        self.refresh()

    def refresh(self) -> None:
        try:
            stamp = (self.keys.allowed.stat().st_mtime, len(list(self.keys.allowed.glob("*.key"))))
        except OSError:
            return
        if stamp != self._stamp:
            self._stamp = stamp
            self._auth.configure_curve(domain="*", location=str(self.keys.allowed))
            log.info("accepting %d client keys from %s", stamp[1], self.keys.allowed)

    def stop(self) -> None:
        self._auth.stop()


def is_loopback(address: str) -> bool:
    """True for addresses only this machine can reach (loopback TCP, ipc, inproc)."""
    if address.startswith(("ipc://", "inproc://")):
        return True
    host = address.split("://", 1)[-1].rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS or host.startswith("127.")


INSECURE_WARNING = (
    "WARNING: {address} is reachable from the network and has NO authentication: anyone who can "
    "reach this port can use this engine. Use --server-key and --allowed-keys (see `dawbridge keys "
    "generate`) unless this network is trusted."
)


def check_bind(address: str, keys: ServerKeys | None, insecure: bool) -> str | None:
    """Why binding ``address`` is refused, or None. Loopback needs nothing; any other address
    needs keys, or ``insecure`` (then the caller logs :data:`INSECURE_WARNING`)."""
    if is_loopback(address) or keys is not None or insecure:
        return None
    return (f"{address} is reachable from the network; give --server-key and --allowed-keys "
            f"(make keys with `dawbridge keys generate`), bind 127.0.0.1, or pass --insecure on a "
            "network you trust")


def default_folder() -> Path:
    return Path(os.path.expanduser(KEYS_FOLDER))
