"""Defaults and limits of the engine: addresses, sizes, queue, timing. One place, so the
server, the client, the CLI and the README agree."""

from __future__ import annotations

DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"
"""Where `dawbridge serve` binds and where clients connect by default (loopback only)."""

MAX_REQUEST_BYTES = 2 * 1024 * 1024
"""A request frame larger than this is answered `too_large` without being parsed. The largest
request the protocol accepts (8192 notes in all, about 100 bytes each) is 0.8 MiB."""

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""ZMQ_MAXMSGSIZE (one frame; libzmq disconnects a peer that sends a larger one), and the limit on
all frames of one multipart message together, which the engine reads part by part."""

PARSE_INLINE_BYTES = 64 * 1024
"""Request frames up to this size are parsed in the server's loop; larger ones on its parser
thread (a 64 KiB request, about 700 notes, parses in about 3 ms)."""

SWITCH_INTERVAL = 0.0005
"""sys.setswitchinterval for the engine's process: how long the loop thread may wait for the
interpreter's lock while the parser or a model thread runs Python (the default is 5 ms)."""

PARSE_QUEUE = 16
"""Large request frames waiting for the parser thread at most; more are answered `overloaded`."""

MAX_MESSAGE_PARTS = 8
"""Frames of one message: routing ids (a relay adds one), the empty delimiter, the JSON frame."""

QUEUE_SIZE = 32
"""Musical requests waiting or running at once; more are answered `overloaded`."""

CLIENT_SHARE = 0.5
"""The part of the queue one client (one connection) may hold; the rest is answered `overloaded`."""

MAX_REQUEST_WORK = 256
"""Estimated work of one musical request: bars the model writes times candidates (one candidate
of a 256-bar clip, or 8 of 32 bars). On a busy CPU the shipped model writes a bar of one
candidate in 0.2-0.8 s (chorale the slowest), so the largest request runs for a few minutes,
not an hour. More is answered `too_large` before it is queued."""

MAX_SESSIONS_PER_CONNECTION = 8
"""Attached DAW sessions one connection may hold (a relay carries every DAW of its machine)."""

MAX_SESSIONS = 256
"""Attached DAW sessions in all."""

WORKERS = 1
"""Threads that call the model. One is right for one CPU model or one GPU."""

DEFAULT_TIMEOUT = 300.0
"""Seconds a musical request may take when it names no `timeout` of its own."""

POLL_MS = 50
"""Longest the server loop sleeps between housekeeping rounds (deadline precision)."""

MAX_MESSAGES_PER_ROUND = 256
"""Requests the loop reads before it turns to housekeeping, so no peer can starve it."""

SHUTDOWN_GRACE = 3.0
"""Seconds running requests get to finish after SIGINT/SIGTERM before they are stopped."""

PROGRESS_INTERVAL = 0.1
"""Least seconds between two progress events of one request."""

HEARTBEAT_MS = 2000
"""ZMTP heartbeats (ZMQ_HEARTBEAT_IVL) so dead DAW sessions are noticed."""

HEARTBEAT_TIMEOUT_MS = 6000

CLIENT_TIMEOUT = 5.0
"""Seconds a client waits for a service reply (ping, info, cancel, attach, dispatch)."""

CLIENT_MUSIC_TIMEOUT = 120.0
"""Seconds a client lets a musical request run; sent to the engine as the request timeout."""

CLIENT_GRACE = 2.0
"""Extra seconds a client waits past a request's timeout for the engine's own `timeout` reply."""

PROBE_TIMEOUT = 0.5
"""Seconds the CLI waits for a ping before running the engine in-process instead."""

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

# --- studio server ---------------------------------------------------------------------------

KEYS_FOLDER = "~/.dawbridge/keys"
"""Where `dawbridge keys generate` writes key pairs unless told otherwise."""

KEYS_REFRESH = 1.0
"""Seconds between two readings of the allowed-keys folders (a removed key is revoked then)."""

DEFAULT_WORKER_ADDRESS = "tcp://127.0.0.1:5556"
"""Where an engine started with `--worker-bind` listens for workers by default."""

WORKER_HEARTBEAT = 1.0
"""Seconds between heartbeats on the worker socket, both ways."""

WORKER_LIVENESS = 3
"""Heartbeats a worker may miss before the engine takes it for dead (its jobs are retried once)."""

WORKER_SILENCE = 30.0
"""Seconds a worker waits for a word from a connected engine before it reconnects. A dead
connection is noticed sooner, by ZMTP heartbeats (HEARTBEAT_MS); this covers an engine that
is connected but stuck."""

RELAY_HEARTBEAT_MS = 1000
"""ZMTP heartbeats from a relay to its upstream, so a dead server is noticed in seconds."""

RELAY_HEARTBEAT_TIMEOUT_MS = 3000

MAX_BATCH = 8
"""Musical requests one worker thread runs together in shared forward passes (1 = no batching)."""

MAX_BATCH_ROWS = 32
"""Candidate rows one batch may hold: an 8-candidate request takes 8 of them."""
