"""An optional Prometheus endpoint (``dawbridge serve --metrics 127.0.0.1:9101``): the engine's
figures in the text exposition format at ``/metrics``, from a small HTTP thread that only reads
them. Nothing else is served; there is no dependency on a Prometheus client library. The
endpoint has no authentication, so it binds loopback only unless the admin says otherwise."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bridge.studio.keys import is_loopback

log = logging.getLogger(__name__)

# name -> (type, help); the engine's Server.metrics() returns values for these names
METRICS = {
    "dawbridge_uptime_seconds": ("gauge", "Seconds since the engine started."),
    "dawbridge_queue_depth": ("gauge", "Musical requests waiting or running."),
    "dawbridge_queue_size": ("gauge", "Musical requests the engine takes at most."),
    "dawbridge_workers": ("gauge", "Threads calling the model here plus remote workers connected."),
    "dawbridge_remote_workers": ("gauge", "Remote workers connected."),
    "dawbridge_sessions": ("gauge", "Attached DAW sessions."),
    "dawbridge_requests_served_total": ("counter", "Requests answered with a result."),
    "dawbridge_requests_failed_total": ("counter", "Requests answered with an error."),
    "dawbridge_batches_total": ("counter", "Batches of several requests run in shared forward passes."),
    "dawbridge_batched_requests_total": ("counter", "Requests run in those batches."),
    "dawbridge_worker_retries_total": ("counter", "Requests handed to another worker after theirs died."),
    "dawbridge_workers_lost_total": ("counter", "Remote workers taken for dead."),
    "dawbridge_malformed_worker_frames_total": ("counter", "Frames on the worker socket that were dropped."),
    "dawbridge_model_loaded": ("gauge", "1 when a model is loaded."),
}


def exposition(values: dict[str, float]) -> str:
    """The text format for ``values`` (unknown names are skipped)."""
    lines = []
    for name, (kind, text) in METRICS.items():
        if name in values:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {values[name]:g}"]
    return "\n".join(lines) + "\n"


class MetricsServer:
    """Serves ``exposition(read())`` at ``http://HOST:PORT/metrics`` in a daemon thread."""

    def __init__(self, address: str, read: Callable[[], dict[str, float]], allow_network: bool = False) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"metrics address must be HOST:PORT with PORT 0..65535, got {address!r}")
        if not allow_network and not is_loopback(f"tcp://{address}"):
            raise ValueError(f"metrics at {address} would be reachable from the network without "
                             "authentication; use 127.0.0.1:PORT (or pass --insecure on a network you trust)")
        reader = read

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "only /metrics is here")
                    return
                body = exposition(reader()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("metrics: " + format, *args)

        self._http = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, name="dawbridge-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("metrics at http://%s:%d/metrics", self._http.server_address[0], self.port)

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
