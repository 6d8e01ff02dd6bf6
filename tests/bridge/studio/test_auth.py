"""CURVE authentication: only allowed client keys reach the engine; keys made by the CLI; a
network bind without keys refused unless --insecure (which warns loudly)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zmq

from bridge.cli.main import main
from bridge.client import Client, EngineUnreachable
from bridge.serve.engine import ComposerSlot
from bridge.serve.server import running_engine
from bridge.studio import keys
from bridge.studio.relay import running_relay
from tests.bridge.helpers import melody, outcome
from tests.bridge.studio.keyfiles import make_keys
from tests.bridge.timing_composer import TimingComposer


@pytest.fixture
def studio(tmp_path: Path):
    k = make_keys(tmp_path)
    with running_engine(composer=TimingComposer(), keys=keys.ServerKeys.load(k.server_secret, k.allowed)) as server:
        yield server, k


def test_allowed_key_is_served_and_others_are_refused(studio) -> None:
    server, k = studio
    with running_relay(server.address, keys.ClientKeys.load(k.server_public, k.client_secret)) as relay:
        with Client(relay.address, timeout=5.0) as client:
            assert client.request("harmonize", clip=melody(2), seed=1)["seed"] == 1
    with running_relay(server.address, keys.ClientKeys.load(k.server_public, k.stranger_secret)) as relay:
        with Client(relay.address, timeout=5.0) as client:
            codes = {outcome(client, client.send("ping"), 5.0) for _ in range(20)}
            assert codes <= {"unauthorized", "unavailable"}
            assert "unauthorized" in codes or relay.state == "refused"
            assert "laptop" not in relay.refusal and "allowed-keys" in relay.refusal


def test_a_client_without_keys_gets_nothing(studio) -> None:
    server, _ = studio
    with Client(server.address, timeout=1.0) as client:  # NULL mechanism against a CURVE server
        # the failed handshake leaves the client no connection: its send (once the handshake
        # has failed) or else its wait says so, neither waits for good
        with pytest.raises(EngineUnreachable):
            client.wait(client.send("ping"), 1.0)
    assert server.served == 0


def test_a_wrong_server_key_fails_the_handshake(studio, tmp_path: Path) -> None:
    server, k = studio
    impostor_public, _ = keys.generate(tmp_path / "impostor", "impostor")
    with running_relay(server.address, keys.ClientKeys.load(impostor_public, k.client_secret)) as relay:
        with Client(relay.address, timeout=5.0) as client:
            assert outcome(client, client.send("ping"), 5.0) in ("unauthorized", "unavailable")
    assert server.served == 0


def test_a_key_added_to_the_folder_is_accepted_without_restart(studio, tmp_path: Path) -> None:
    server, k = studio
    public, secret = keys.generate(tmp_path / "late", "late")
    with running_relay(server.address, keys.ClientKeys.load(k.server_public, secret)) as relay:
        with Client(relay.address, timeout=5.0) as client:
            assert outcome(client, client.send("ping"), 5.0) == "unauthorized"
            (k.allowed / "late.key").write_bytes(public.read_bytes())
            end = time.monotonic() + 15.0
            while outcome(client, client.send("ping"), 5.0) != "ok":
                assert time.monotonic() < end, "the new key was never accepted"
                time.sleep(0.2)


def test_keys_generate_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    assert main(["keys", "generate", "--dir", str(tmp_path), "--name", "studio"]) == 0
    assert (tmp_path / "studio.key").exists() and (tmp_path / "studio.key_secret").exists()
    assert (tmp_path / "studio.key_secret").stat().st_mode & 0o077 == 0
    assert "studio.key" in capsys.readouterr().out
    assert main(["keys", "generate", "--dir", str(tmp_path), "--name", "studio"]) == 2
    assert keys.load_public(tmp_path / "studio.key") == keys.load_pair(tmp_path / "studio.key_secret")[0]


def test_network_bind_needs_keys_or_insecure() -> None:
    assert keys.check_bind("tcp://127.0.0.1:5555", None, False) is None
    assert keys.check_bind("ipc:///tmp/x", None, False) is None
    assert "--server-key" in (keys.check_bind("tcp://0.0.0.0:5555", None, False) or "")
    assert keys.check_bind("tcp://0.0.0.0:5555", None, True) is None


def test_serve_refuses_a_network_bind_without_keys(capsys) -> None:
    assert main(["serve", "--bind", "tcp://0.0.0.0:5599"]) == 2
    assert "--insecure" in capsys.readouterr().err


def test_insecure_warns_loudly(tmp_path: Path, caplog) -> None:
    from bridge.cli.main import _warn_insecure

    with caplog.at_level("WARNING"):
        _warn_insecure("tcp://0.0.0.0:5599")
    assert "NO authentication" in caplog.text


def test_server_refuses_a_missing_allowed_folder(tmp_path: Path) -> None:
    k = make_keys(tmp_path)
    with pytest.raises(keys.KeyFileError, match="does not exist"):
        keys.ServerKeys.load(k.server_secret, tmp_path / "nowhere")
    with pytest.raises(keys.KeyFileError, match="no secret key"):
        keys.ServerKeys.load(k.server_public, k.allowed)
    assert zmq.has("curve")
    assert ComposerSlot  # the engine imports with keys present
