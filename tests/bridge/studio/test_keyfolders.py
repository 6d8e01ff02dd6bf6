"""Key folders on a live studio server: read by content, not by modification time; a file that is
not a key is skipped; a key removed or overwritten stops serving the connections that used it;
workers have a folder of their own and a client key is refused on the worker socket; a dispatch
reaches only the sessions of the same key. Also the smaller hardening of the studio options."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.client import Client
from bridge.serve.engine import ComposerSlot
from bridge.serve.server import running_engine
from bridge.studio import keys
from bridge.studio.metrics import MetricsServer
from bridge.studio.relay import running_relay
from bridge.studio.worker import running_worker
from tests.bridge.helpers import melody, outcome
from tests.bridge.studio.keyfiles import make_keys
from tests.bridge.timing_composer import TimingComposer


def _until(check: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, what
        time.sleep(0.1)


def _ping(relay_address: str) -> str:
    with Client(relay_address, timeout=3.0) as client:
        return outcome(client, client.send("ping"), 3.0)


def test_folder_read_by_content_with_bad_files_skipped(tmp_path: Path, caplog) -> None:
    k = make_keys(tmp_path)
    (k.allowed / "broken.key").write_text("not a key\n")  # one bad file must not block the others
    late_public, late_secret = keys.generate(tmp_path / "late", "late")
    (k.allowed / "late.key").write_bytes(b"")  # copied in empty, filled a moment later
    with caplog.at_level("WARNING"), \
            running_engine(composer=TimingComposer(), keys=keys.ServerKeys.load(k.server_secret, k.allowed)) as server, \
            running_relay(server.address, keys.ClientKeys.load(k.server_public, k.client_secret)) as laptop, \
            running_relay(server.address, keys.ClientKeys.load(k.server_public, late_secret)) as late:
        assert _ping(laptop.address) == "ok"
        assert "broken.key" in caplog.text
        assert _ping(late.address) != "ok"
        mtime = (k.allowed / "late.key").stat().st_mtime
        (k.allowed / "late.key").write_bytes(late_public.read_bytes())
        os.utime(k.allowed / "late.key", (mtime, mtime))  # same mtime: only the content says it changed
        _until(lambda: _ping(late.address) == "ok", "the filled key was never accepted")


def test_a_revoked_key_cuts_its_open_connection(tmp_path: Path) -> None:
    k = make_keys(tmp_path)
    stranger_public = keys.load_public(k.stranger_secret)
    with running_engine(composer=TimingComposer(bar_seconds=0.2), workers=1,
                        keys=keys.ServerKeys.load(k.server_secret, k.allowed)) as server, \
            running_relay(server.address, keys.ClientKeys.load(k.server_public, k.client_secret)) as relay, \
            Client(relay.address, timeout=5.0) as client:
        assert client.ping() < 2.0  # connected before the key goes
        running = client.send("harmonize", clip=melody(40), timeout=30.0)
        time.sleep(0.3)
        # overwritten in place with another machine's key: the laptop's key is revoked
        (k.allowed / "laptop.key").write_text(
            (k.allowed / "laptop.key").read_text().replace(keys.load_public(k.client_public).decode(),
                                                           stranger_public.decode()))
        assert outcome(client, running, 5.0) == "cancelled"
        _until(lambda: _ping(relay.address) in ("unauthorized", "unavailable", "unreachable"),
               "the revoked key is still served")
        assert server.scheduler.depth == 0


def test_workers_have_keys_of_their_own(tmp_path: Path) -> None:
    k = make_keys(tmp_path)
    worker_public, worker_secret = keys.generate(tmp_path / "gpu", "gpu")
    workers = tmp_path / "workers"
    workers.mkdir()
    (workers / "gpu.key").write_bytes(worker_public.read_bytes())
    (workers / "laptop.key").write_bytes(k.client_public.read_bytes())  # an admin's slip
    with pytest.raises(ValueError, match="allowed-workers"):
        running_engine(composer=TimingComposer(), workers=0, worker_bind="tcp://127.0.0.1:*",
                       keys=keys.ServerKeys.load(k.server_secret, k.allowed)).__enter__()
    server_keys = keys.ServerKeys.load(k.server_secret, k.allowed, workers)
    with running_engine(composer=TimingComposer(), workers=0, worker_bind="tcp://127.0.0.1:*",
                        keys=server_keys) as server:
        assert server.broker is not None
        laptop, laptop_thread = running_worker(server.broker.address, composer=TimingComposer(),
                                               keys=keys.ClientKeys.load(k.server_public, k.client_secret))
        time.sleep(1.5)
        assert server.broker.count == 0  # a client's key is refused on the worker socket
        laptop.kill()
        laptop_thread.join(5)
        gpu, gpu_thread = running_worker(server.broker.address, composer=TimingComposer(),
                                         keys=keys.ClientKeys.load(k.server_public, worker_secret))
        _until(lambda: server.broker.count == 1, "the worker key was refused")
        with running_relay(server.address, keys.ClientKeys.load(k.server_public, k.client_secret)) as relay, \
                Client(relay.address, timeout=10.0) as client:
            assert client.request("harmonize", clip=melody(2), seed=4)["seed"] == 4
        (workers / "gpu.key").unlink()  # revoked: the worker is lost
        _until(lambda: server.broker.count == 0, "the revoked worker is still used")
        gpu.stop()
        gpu_thread.join(5)


def test_dispatch_reaches_only_sessions_of_the_same_key(tmp_path: Path) -> None:
    k = make_keys(tmp_path)
    other_public, other_secret = keys.generate(tmp_path / "other", "other")
    (k.allowed / "other.key").write_bytes(other_public.read_bytes())
    with running_engine(composer=TimingComposer(), keys=keys.ServerKeys.load(k.server_secret, k.allowed)) as server, \
            running_relay(server.address, keys.ClientKeys.load(k.server_public, k.client_secret)) as mine, \
            running_relay(server.address, keys.ClientKeys.load(k.server_public, other_secret)) as theirs, \
            Client(mine.address) as my_live, Client(theirs.address) as their_live, Client(mine.address) as my_cli:
        my_session = my_live.attach("live")
        their_session = their_live.attach("live")
        assert my_cli.dispatch({"op": "harmonize"}) == 1
        assert my_live.next_event(my_session, 2.0) is not None
        assert their_live.next_event(their_session, 0.5) is None


def test_a_source_part_in_the_bind_address_is_checked() -> None:
    assert keys.check_bind("tcp://127.0.0.1:0;0.0.0.0:5555", None, False) is not None
    assert keys.check_bind("tcp://0.0.0.0:0;127.0.0.1:5555", None, False) is not None
    assert keys.check_bind("tcp://127.0.0.1:0;127.0.0.1:5555", None, False) is None
    assert main(["serve", "--bind", "tcp://127.0.0.1:0;0.0.0.0:5598"]) == 2


def test_metrics_stay_on_loopback_unless_insecure(capsys) -> None:
    with pytest.raises(ValueError, match="without authentication"):
        MetricsServer("0.0.0.0:0", dict)
    assert main(["serve", "--metrics", "0.0.0.0:9597", "--bind", "tcp://127.0.0.1:5597"]) == 2
    assert "--metrics" in capsys.readouterr().err
    exporter = MetricsServer("0.0.0.0:0", dict, allow_network=True)
    exporter.start()
    exporter.stop()


def test_a_secret_key_is_never_readable_by_others(tmp_path: Path, monkeypatch) -> None:
    def no_chmod(*_: object) -> None:
        raise AssertionError("the secret file was made with a wider mode first")

    monkeypatch.setattr(os, "chmod", no_chmod)
    old = os.umask(0)
    try:
        public, secret = keys.generate(tmp_path, "laptop")
    finally:
        os.umask(old)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert keys.load_pair(secret)[0] == keys.load_public(public)


def test_an_engine_without_local_workers_loads_no_model() -> None:
    loads: list[int] = []

    def loader() -> TimingComposer:
        loads.append(1)
        return TimingComposer()

    with running_engine(slot=ComposerSlot(loader), workers=0, worker_bind="tcp://127.0.0.1:*") as server, \
            Client(server.address) as client:
        info = client.info()
    assert loads == [] and info["model"] is None and "workers" in info["model_error"]
