"""CURVE keys: ZeroMQ's own authentication and encryption for the studio server.

A key pair is two files in ZeroMQ's certificate format: ``NAME.key`` (the public key, safe to
copy around) and ``NAME.key_secret`` (public and secret key; it never leaves its machine).

- The studio server binds with its secret file (``--server-key server.key_secret``) and accepts
  only clients whose public files lie in its allowed-keys folder (``--allowed-keys DIR``), and
  only workers whose public files lie in a folder of their own (``--allowed-workers DIR``); a
  client's key is refused on the worker socket even when an admin copies it there.
- The folders are read again every KEYS_REFRESH seconds, file by file and by content: adding a
  laptop needs no restart, a file that is not a key is skipped (and logged once), and a key that
  is removed or overwritten is revoked: the engine stops serving connections that used it.
- A relay or a worker connects with the server's public file and its own secret file.

Binding an address other than loopback without keys is refused unless the admin says
``--insecure``; see :func:`check_bind`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from bridge.constants import KEYS_FOLDER, KEYS_REFRESH, LOOPBACK_HOSTS

log = logging.getLogger(__name__)

CLIENTS, WORKERS = "clients", "workers"
"""ZAP domains: the client socket's and the worker socket's keys are checked apart."""


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
    key_public, key_secret = zmq.curve_keypair()
    _write(secret, _certificate(key_public, key_secret), 0o600)  # private from its first byte
    _write(public, _certificate(key_public, None), 0o644)
    return public, secret


def _certificate(public: bytes, secret: bytes | None) -> str:
    """ZeroMQ's certificate format, as zmq.auth writes and reads it."""
    lines = ["#   ZeroMQ CURVE " + ("**Secret** Certificate" if secret else "Public Certificate"),
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions." if secret else
             "#   Exchange securely, or use a secure mechanism to verify the contents", "",
             "metadata", "curve", f'    public-key = "{public.decode()}"']
    if secret:
        lines.append(f'    secret-key = "{secret.decode()}"')
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int) -> None:
    """Create ``path`` with ``mode`` (never wider, whatever the umask), refusing to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


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
    """The server's key pair, the folder of client public keys it accepts and the folder of
    worker public keys (needed only when it opens a worker socket)."""

    public: bytes
    secret: bytes
    allowed: Path
    workers: Path | None = None

    @classmethod
    def load(cls, server_key: str | Path, allowed: str | Path,
             workers: str | Path | None = None) -> ServerKeys:
        folders = [Path(allowed)] + ([Path(workers)] if workers is not None else [])
        for folder in folders:
            if not folder.is_dir():
                raise KeyFileError(f"the allowed-keys folder {folder} does not exist")
        if len(folders) == 2 and folders[0].resolve() == folders[1].resolve():
            raise KeyFileError("--allowed-workers must be a folder of its own, not the clients' --allowed-keys")
        public, secret = load_pair(server_key)
        return cls(public, secret, folders[0], folders[1] if len(folders) == 2 else None)

    def apply(self, sock: zmq.Socket, domain: str = CLIENTS) -> None:
        """Set before bind; ``domain`` says which folder the socket's peers are checked against."""
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
        sock.setsockopt_string(zmq.ZAP_DOMAIN, domain)


def read_folder(folder: Path, skipped: set[str]) -> frozenset[bytes]:
    """The public keys (Z85) of the ``*.key`` files in ``folder``, read by content. A file that
    is not a key is skipped, and logged the first time (``skipped`` remembers it)."""
    found: set[bytes] = set()
    bad: set[str] = set()
    try:
        paths = sorted(folder.glob("*.key"))
    except OSError as exc:
        log.warning("cannot read the keys folder %s: %s", folder, exc)
        return frozenset()
    for path in paths:
        try:
            found.add(load_public(path))
        except KeyFileError as exc:
            bad.add(path.name)
            if path.name not in skipped:
                log.warning("skipping %s", exc)
    skipped.clear()
    skipped.update(bad)
    return frozenset(found)


class Gatekeeper:
    """The ZAP handler of one context: accepts a client socket's peers whose keys lie in the
    allowed folder and a worker socket's peers whose keys lie in the workers folder (never a
    client's key). :meth:`refresh` reads both folders again every KEYS_REFRESH seconds and says
    which keys were revoked, so the server can stop serving connections that used them."""

    def __init__(self, context: zmq.Context, keys: ServerKeys) -> None:
        self.keys = keys
        self._auth = ThreadAuthenticator(context, log=logging.getLogger("bridge.studio.keys.zap"))
        self.allowed: dict[str, frozenset[bytes]] = {CLIENTS: frozenset(), WORKERS: frozenset()}
        self._skipped: dict[str, set[str]] = {CLIENTS: set(), WORKERS: set()}
        self._next = 0.0

    def start(self) -> None:
        self._auth.start()
        self.refresh(force=True)
        for domain in (CLIENTS, WORKERS):
            self._auth.configure_curve_callback(domain, self)

    def callback(self, domain: str, key: bytes) -> bool:
        """Called by the ZAP thread for every handshake: is ``key`` (Z85) allowed here?"""
        return key in self.allowed.get(domain, frozenset())

    def allows(self, domain: str, user: str) -> bool:
        """Whether a connection authenticated as ``user`` (its Z85 key) is still allowed."""
        return user.encode() in self.allowed.get(domain, frozenset())

    def refresh(self, force: bool = False) -> set[bytes]:
        """Read the folders again when due; returns the keys no longer allowed (either domain)."""
        now = time.monotonic()
        if not force and now < self._next:
            return set()
        self._next = now + KEYS_REFRESH
        clients = read_folder(self.keys.allowed, self._skipped[CLIENTS])
        workers: frozenset[bytes] = frozenset()
        if self.keys.workers is not None:
            workers = read_folder(self.keys.workers, self._skipped[WORKERS])
            if workers & clients:
                log.warning("%d keys in %s are also client keys; they are refused on the worker socket",
                            len(workers & clients), self.keys.workers)
            workers = workers - clients
        old = self.allowed
        self.allowed = {CLIENTS: clients, WORKERS: workers}
        if clients != old[CLIENTS] or workers != old[WORKERS]:
            log.info("accepting %d client keys from %s and %d worker keys", len(clients), self.keys.allowed,
                     len(workers))
        return set((old[CLIENTS] - clients) | (old[WORKERS] - workers))

    def stop(self) -> None:
        self._auth.stop()


def is_loopback(address: str) -> bool:
    """True for addresses only this machine can reach (loopback TCP, ipc, inproc). libzmq reads
    ``tcp://SOURCE;ADDRESS``: every part must be loopback."""
    if address.startswith(("ipc://", "inproc://")):
        return True
    scheme, _, rest = address.partition("://")
    if scheme != "tcp" or not rest:
        return False
    return all(_loopback_host(_host(part)) for part in rest.split(";"))


def _host(part: str) -> str:
    """The host of ``HOST:PORT``, ``[V6]:PORT`` or a bare ``HOST``."""
    if part.startswith("["):
        return part[: part.find("]") + 1]
    return part.rsplit(":", 1)[0] if ":" in part else part


def _loopback_host(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
