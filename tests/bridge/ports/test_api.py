"""`dawbridge ports --api auto` on Linux: the ALSA sequencer first, JACK when it is missing; when
neither can be used, one message says what was tried and what to check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import rtmidi

from bridge.cli.main import main
from bridge.ports.ports import PortError, Ports
from tests.bridge.ports import fixtures as ports_fixtures

tiny_files = ports_fixtures.tiny_files
jack_server = ports_fixtures.jack_server

pytestmark = pytest.mark.skipif(sys.platform != "linux" or Path("/dev/snd/seq").exists(),
                                reason="needs Linux without an ALSA sequencer (/dev/snd/seq)")


def test_auto_names_both_systems_when_neither_answers(tiny_files: Path, capsys) -> None:
    if ports_fixtures.jack_running():
        pytest.skip("a JACK server is running here")
    with pytest.raises(PortError) as caught:
        Ports("In none", "Out none", api="auto").open()
    message = str(caught.value)
    assert "--api auto" in message and "ALSA:" in message and "snd-seq" in message
    assert "JACK:" in message and "jackd running" in message
    assert main(["ports", "--api", "auto", "--mode", "answer", "--weights", str(tiny_files)]) == 2
    assert "ALSA:" in capsys.readouterr().err


def test_auto_falls_back_to_jack(jack_server: None) -> None:
    ports = Ports("In auto", "Out auto", api="auto")
    ports.open()
    try:
        assert ports.api == "jack"
        listed = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "auto-probe").get_ports()
        assert any("In auto" in name for name in listed)
    finally:
        ports.close()
