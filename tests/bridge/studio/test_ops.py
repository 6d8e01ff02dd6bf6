"""Operations: `info` figures, the Prometheus endpoint, JSON logs, and the service files
`dawbridge install service` writes for systemd, launchd and Windows."""

from __future__ import annotations

import argparse
import json
import logging
import plistlib
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.client import Client
from bridge.studio.logs import JsonFormatter
from bridge.studio.metrics import MetricsServer
from installers import service
from tests.bridge.helpers import melody
from tests.bridge.timing_composer import TimingComposer


def test_info_and_metrics(start_engine) -> None:
    server = start_engine(composer=TimingComposer())
    exporter = MetricsServer("127.0.0.1:0", server.metrics)
    exporter.start()
    try:
        with Client(server.address) as client:
            client.request("harmonize", clip=melody(1))
            info = client.info()
        assert info["uptime"] > 0 and info["queue_depth"] == 0 and info["workers"] == 1
        assert info["served"] >= 1 and info["failed"] == 0
        text = urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).read().decode()
        assert "# TYPE dawbridge_requests_served_total counter" in text
        assert "dawbridge_queue_depth 0" in text and "dawbridge_model_loaded 1" in text
    finally:
        exporter.stop()


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("bridge.serve.server", logging.INFO, __file__, 1, "worker %s joined", ("a",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "worker a joined" and entry["level"] == "info" and entry["logger"] == "bridge.serve.server"


def _args(**given: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    service.add_arguments(parser)
    argv = [f"--{k.replace('_', '-')}={v}" if v is not True else f"--{k.replace('_', '-')}" for k, v in given.items()]
    return parser.parse_args(argv)


@pytest.mark.parametrize("platform", service.PLATFORMS)
def test_service_files(tmp_path: Path, platform: str, capsys) -> None:
    keys = {"server_key": "/etc/dawbridge/server.key_secret", "allowed_keys": "/etc/dawbridge/clients"}
    without_worker_keys = _args(platform=platform, dest=tmp_path, worker_bind="tcp://0.0.0.0:5556", **keys)
    assert service.run(without_worker_keys) == 2  # a worker socket with keys needs the workers' folder
    assert "--allowed-workers" in capsys.readouterr().err
    args = _args(platform=platform, dest=tmp_path, worker_bind="tcp://0.0.0.0:5556",
                 allowed_workers="/etc/dawbridge/workers", executable="/opt/db/dawbridge", **keys)
    assert service.run(args) == 0
    written = next(tmp_path.iterdir())
    out = capsys.readouterr().out
    assert str(written) in out and "next" in out
    if platform == "linux":
        text = written.read_text()
        assert "User=dawbridge" in text and "Restart=on-failure" in text
        assert "ExecStart=/opt/db/dawbridge serve --bind tcp://0.0.0.0:5555 --server-key" in text
        assert "--allowed-workers /etc/dawbridge/workers" in text
    elif platform == "macos":
        plist = plistlib.loads(written.read_bytes())
        assert plist["ProgramArguments"][:2] == ["/opt/db/dawbridge", "serve"]
        assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["UserName"] == "dawbridge"
    else:
        root = ET.fromstring(written.read_text(encoding="utf-16"))
        ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
        assert root.find("t:Actions/t:Exec/t:Command", ns).text == "/opt/db/dawbridge"
        assert "--allowed-keys" in root.find("t:Actions/t:Exec/t:Arguments", ns).text
        assert root.find("t:Settings/t:RestartOnFailure", ns) is not None
    assert service.run(_args(platform=platform, dest=tmp_path, uninstall=True)) == 0
    assert not written.exists()


def test_service_through_the_cli(tmp_path: Path, capsys) -> None:
    assert main(["install", "service", "--role", "relay", "--upstream", "tcp://studio:5555", "--platform",
                 "linux", "--print", "--executable", "dawbridge"]) == 0
    assert "ExecStart=dawbridge serve --upstream tcp://studio:5555" in capsys.readouterr().out
    assert main(["install", "service", "--platform", "linux", "--dest", str(tmp_path)]) == 2
    assert "--server-key" in capsys.readouterr().err
