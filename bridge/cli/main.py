"""The `dawbridge` command: run the engine (or a relay to a studio server, or a worker for one),
make keys, talk to the engine, run ops on MIDI files, push commands to attached DAW sessions,
and hand off to the installers, training and evaluation."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bridge import __version__
from bridge.cli import chords
from bridge.cli.controls import add_controls, controls
from bridge.cli.midifile import MidiFileError
from bridge.client import Client, ClientError, EngineError
from bridge.constants import (
    CLIENT_MUSIC_TIMEOUT,
    CLIENT_TIMEOUT,
    DEFAULT_ADDRESS,
    MAX_BATCH,
    QUEUE_SIZE,
    WORKERS,
)
from bridge.ports import ports
from bridge.protocol import MUSICAL_OPS
from bridge.studio.keys import KeyFileError

INSTALL_TARGETS = ("reaper", "ableton", "service")
DOCTOR_TARGETS = ("reaper", "ableton")
DAW_NAMES = {"live": "Ableton Live", "reaper": "REAPER"}
OP_HELP = {
    "harmonize": "add harmony (chorale voices, chords or a bass line) to a melody",
    "drums": "write a drum part for the music in a file",
    "fill": "put a fill into a drum part",
    "vary": "write variations of a part",
    "continue": "continue a part by some bars",
    "restyle": "play a part in another style",
}
# What a file command fills in from the file where the protocol has a fixed default.
FILE_DEFAULTS = {"drums": {"bars": "the file's length", "time_signature": "the file's", "tempo": "the file's"}}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("train", "eval"):  # the model's own CLIs parse their arguments
        return _forward(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    from bridge.studio.logs import setup_logging

    setup_logging(logging.DEBUG if args.verbose else logging.INFO if args.command in ("serve", "worker")
                  else logging.WARNING, getattr(args, "log_format", "text"))
    try:
        return int(args.handler(args))
    except EngineError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (ClientError, MidiFileError, KeyFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dawbridge", description="An AI co-producer for your DAW.")
    parser.add_argument("--version", action="version", version=f"dawbridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the engine")
    serve.add_argument("--bind", default=DEFAULT_ADDRESS, help=f"ZeroMQ address (default {DEFAULT_ADDRESS})")
    serve.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    serve.add_argument("--weights", help="a trained model (default: the shipped weights)")
    serve.add_argument("--queue", type=int, default=QUEUE_SIZE, help="musical requests in flight at most")
    serve.add_argument("--workers", type=int, default=WORKERS,
                       help="threads calling the model here (0: only remote workers, with --worker-bind)")
    serve.add_argument("--batch", type=int, default=MAX_BATCH,
                       help=f"requests run together in shared forward passes (1 = no batching; default {MAX_BATCH})")
    serve.add_argument("--server-key", metavar="FILE",
                       help="engine: this server's .key_secret file; relay: the studio server's .key file")
    serve.add_argument("--allowed-keys", metavar="DIR", help="engine: folder of client .key files to accept")
    serve.add_argument("--allowed-workers", metavar="DIR",
                       help="engine with --worker-bind and keys: folder of worker .key files (not client keys)")
    serve.add_argument("--client-key", metavar="FILE", help="relay: this machine's .key_secret file")
    serve.add_argument("--upstream", metavar="ADDRESS",
                       help="run as a local relay to the studio server at ADDRESS (tcp://HOST:PORT)")
    serve.add_argument("--worker-bind", metavar="ADDRESS",
                       help="also accept model workers (`dawbridge worker`) at ADDRESS, e.g. tcp://0.0.0.0:5556")
    serve.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics over HTTP here")
    serve.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="json: one JSON object per line, for log collectors")
    serve.add_argument("--insecure", action="store_true",
                       help="allow binding a non-loopback address without authentication (loudly warned)")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run model work for an engine on another machine")
    worker.add_argument("--connect", required=True, metavar="ADDRESS", help="the engine's worker socket")
    worker.add_argument("--server-key", metavar="FILE", help="the engine's public .key file (CURVE)")
    worker.add_argument("--client-key", metavar="FILE", help="this machine's .key_secret file (CURVE)")
    worker.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    worker.add_argument("--weights", help="a trained model (default: the shipped weights)")
    worker.add_argument("--threads", type=int, default=WORKERS, help="threads calling the model")
    worker.add_argument("--batch", type=int, default=MAX_BATCH, help="requests run together (1 = no batching)")
    worker.add_argument("--name", help="how the engine's logs call this worker (default: the host name)")
    worker.add_argument("--log-format", choices=("text", "json"), default="text")
    worker.set_defaults(handler=_worker)

    keys_cmd = commands.add_parser("keys", help="make CURVE key pairs for a studio server and its clients")
    keys_actions = keys_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = keys_actions.add_parser("generate", help="write NAME.key (public) and NAME.key_secret")
    generate.add_argument("--dir", default=None, help="where to write them (default ~/.dawbridge/keys)")
    generate.add_argument("--name", default="server", help="file name stem, e.g. server or the laptop's name")
    generate.set_defaults(handler=_keys_generate)

    for name, handler, text in (("ping", _ping, "check that the engine answers"),
                                ("info", _info, "show the engine's model, device, ops, limits and load")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--address", default=DEFAULT_ADDRESS,
                         help=f"the engine's (or relay's) ZeroMQ address (default {DEFAULT_ADDRESS})")
        sub.add_argument("--timeout", type=float, default=CLIENT_TIMEOUT,
                         help=f"seconds to wait for the answer (default {CLIENT_TIMEOUT:g})")
        if name == "info":
            sub.add_argument("--json", action="store_true", help="print the engine's answer as JSON, for scripts")
        sub.set_defaults(handler=handler)

    for op in MUSICAL_OPS:
        sub = commands.add_parser(op, help=f"{OP_HELP[op]} (MIDI file in, MIDI file out)")
        sub.add_argument("input", help="a Standard MIDI File (type 0 or 1)")
        sub.add_argument("-o", "--output", required=True, help="where to write the result (.mid)")
        sub.add_argument("--track", help="the part to use: its number or part of its name (default: chosen)")
        sub.add_argument("--preview", metavar="PNG", help="also draw a piano roll of input and output")
        sub.add_argument("--address", default=DEFAULT_ADDRESS,
                         help=f"the engine to use when it answers (default {DEFAULT_ADDRESS})")
        sub.add_argument("--in-process", action="store_true", help="run the model in this process")
        sub.add_argument("--weights", help="run this model in this process")
        sub.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help="where an in-process model runs (default auto: CUDA when present)")
        sub.add_argument("--timeout", type=float, default=CLIENT_MUSIC_TIMEOUT,
                         help=f"seconds the work may take, queue included (default {CLIENT_MUSIC_TIMEOUT:g})")
        add_controls(sub, op, FILE_DEFAULTS.get(op))
        sub.set_defaults(handler=_file_command(op))

    for daw, title in DAW_NAMES.items():
        sub = commands.add_parser(daw, help=f"run an op on the selection in attached {title} sessions")
        ops = sub.add_subparsers(dest="op", required=True, metavar="OP")
        for op in MUSICAL_OPS:
            op_parser = ops.add_parser(op, help=f"{OP_HELP[op]}, on the selected clip")
            op_parser.add_argument("--address", default=DEFAULT_ADDRESS)
            add_controls(op_parser, op)
            op_parser.set_defaults(handler=_dispatch, daw=daw)

    for name, targets in (("install", INSTALL_TARGETS), ("doctor", DOCTOR_TARGETS)):
        text = "install DAW scripts or the engine service" if name == "install" else "check a DAW's setup"
        sub = commands.add_parser(name, help=text, description=f"{text}; `dawbridge {name} TARGET --help` "
                                  "lists the target's own options")
        sub.add_argument("target", nargs="?", choices=targets, help=f"one of {', '.join(targets)}")
        sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        sub.set_defaults(handler=_installer)

    sub = commands.add_parser("chords", help="print the chord plan of a MIDI file's melody or chord part")
    chords.add_arguments(sub)
    sub.set_defaults(handler=chords.run)

    sub = commands.add_parser("ports", help="open virtual MIDI ports for any DAW: a live harmonizer, "
                              "or capture-and-answer")
    ports.add_arguments(sub)
    sub.set_defaults(handler=ports.run)

    for name in ("train", "eval"):
        commands.add_parser(name, help=f"{'fine-tune' if name == 'train' else 'evaluate'} the model "
                            f"(`dawbridge {name} --help`)", add_help=False)
    return parser


# --- the engine ------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:

    from bridge.serve.engine import ComposerSlot
    from bridge.serve.server import Server
    from bridge.studio import keys

    if args.upstream:
        return _relay(args)
    if (args.server_key is None) != (args.allowed_keys is None):
        print("error: give --server-key and --allowed-keys together", file=sys.stderr)
        return 2
    if args.workers < 0 or args.batch < 1 or (args.workers == 0 and not args.worker_bind):
        print("error: --workers must be at least 1 (0 only with --worker-bind), --batch at least 1",
              file=sys.stderr)
        return 2
    if args.server_key and args.worker_bind and not args.allowed_workers:
        print("error: with keys, --worker-bind needs --allowed-workers DIR (the workers' .key files, "
              "a folder of their own)", file=sys.stderr)
        return 2
    server_keys = (keys.ServerKeys.load(args.server_key, args.allowed_keys, args.allowed_workers)
                   if args.server_key else None)
    for address in filter(None, (args.bind, args.worker_bind)):
        refusal = keys.check_bind(address, server_keys, args.insecure)
        if refusal is not None:
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        if server_keys is None and not keys.is_loopback(address):
            _warn_insecure(address)
    server = Server(args.bind, ComposerSlot.at_start(args.weights, args.device),
                    queue_size=args.queue, workers=args.workers, max_batch=args.batch, keys=server_keys,
                    worker_bind=args.worker_bind)
    exporter = None
    if args.metrics:
        from bridge.studio.metrics import MetricsServer

        try:
            exporter = MetricsServer(args.metrics, server.metrics, allow_network=args.insecure)
        except (ValueError, OSError) as exc:
            print(f"error: --metrics: {exc}", file=sys.stderr)
            return 2
    _on_signals(server.stop)
    if exporter is not None:
        exporter.start()
    try:
        return _run_bound(server.run, args.bind, "another engine")
    finally:
        if exporter is not None:
            exporter.stop()


def _relay(args: argparse.Namespace) -> int:

    from bridge.studio import keys
    from bridge.studio.relay import Relay

    if not keys.is_loopback(args.bind):
        print("error: a relay listens on loopback only (its DAW clients carry no keys); "
              "keep --bind at 127.0.0.1", file=sys.stderr)
        return 2
    if (args.server_key is None) != (args.client_key is None):
        print("error: give --server-key (the studio server's .key) and --client-key (this machine's "
              ".key_secret) together", file=sys.stderr)
        return 2
    client_keys = keys.ClientKeys.load(args.server_key, args.client_key) if args.server_key else None
    if client_keys is None and not keys.is_loopback(args.upstream):
        _warn_insecure(args.upstream)
    relay = Relay(args.bind, args.upstream, client_keys)
    _on_signals(relay.stop)
    return _run_bound(relay.run, args.bind, "an engine or relay")


def _run_bound(run: Callable[[], None], bind: str, who: str) -> int:
    """Run a loop that binds ``bind``; exit 2 saying so when the address is taken."""
    import zmq

    try:
        run()
    except zmq.ZMQError as exc:
        print(f"error: cannot bind {bind}: {exc} (is {who} running? try `dawbridge ping`)", file=sys.stderr)
        return 2
    return 0


def _worker(args: argparse.Namespace) -> int:
    from bridge.serve.engine import ComposerSlot
    from bridge.studio import keys
    from bridge.studio.worker import Worker

    if (args.server_key is None) != (args.client_key is None):
        print("error: give --server-key and --client-key together", file=sys.stderr)
        return 2
    if args.threads < 1 or args.batch < 1:
        print("error: --threads and --batch must be at least 1", file=sys.stderr)
        return 2
    client_keys = keys.ClientKeys.load(args.server_key, args.client_key) if args.server_key else None
    if client_keys is None and not keys.is_loopback(args.connect):
        _warn_insecure(args.connect)
    worker = Worker(args.connect, ComposerSlot.at_start(args.weights, args.device), threads=args.threads,
                    max_batch=args.batch, keys=client_keys, name=args.name)
    _on_signals(worker.stop)
    worker.run()
    return 0


def _keys_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bridge.studio import keys

    folder = Path(args.dir) if args.dir else keys.default_folder()
    try:
        public, secret = keys.generate(folder, args.name)
    except keys.KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"public key  {public}  (copy it: to the server's allowed-keys folder, or to the clients)")
    print(f"secret key  {secret}  (keep it on this machine)")
    return 0


def _warn_insecure(address: str) -> None:
    from bridge.studio.keys import INSECURE_WARNING

    logging.getLogger("bridge").warning(INSECURE_WARNING.format(address=address))


def _on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _ping(args: argparse.Namespace) -> int:
    with Client(args.address, timeout=args.timeout) as client:
        seconds = client.ping()
    print(f"engine at {args.address} answered in {seconds * 1000:.2f} ms")
    return 0


def _info(args: argparse.Namespace) -> int:
    with Client(args.address, timeout=args.timeout) as client:
        info = client.info()
    print(json.dumps(info, indent=2) if args.json else info_text(args.address, info))
    return 0


def info_text(address: str, info: dict[str, Any]) -> str:
    """The engine's `info` answer for a person: what runs where, what it does, its load."""
    model = f"{info.get('model')} on {info.get('device')}" if info.get("model") else \
        f"none loaded: {info.get('model_error') or 'no reason given'}"
    lines = [f"engine    {address}: dawbridge {info.get('version')}, protocol {info.get('protocol')}, "
             f"up {_duration(float(info.get('uptime', 0)))}",
             f"model     {model}",
             f"ops       {', '.join(info.get('ops', [])) or 'none'}"]
    for number, (op, styles) in enumerate(sorted(info.get("styles", {}).items())):
        lines.append(f"{'styles' if number == 0 else '':<10}{op}: {', '.join(styles)}")
    limits = info.get("limits", {})
    lines.append(f"limits    {', '.join(f'{name} {_number(value)}' for name, value in limits.items()) or 'none'}")
    lines.append(f"requests  {info.get('served', 0)} served, {info.get('failed', 0)} failed, "
                 f"{info.get('queue_depth', 0)} waiting now")
    lines.append(f"workers   {info.get('workers', 0)}; attached DAW sessions {info.get('sessions', 0)}")
    lines += [f"{'credits' if number == 0 else '':<10}{credit}" for number, credit in enumerate(info.get("credits", []))]
    return "\n".join(lines)


def _number(value: float) -> str:
    """A limit as a person reads it: whole numbers in full (2097152), others short (0.5)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _file_command(op: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from bridge.cli import (
            filecommand,  # deferred: mido, matplotlib and the model load only here
        )

        return filecommand.run(op, args)

    return handler


def _dispatch(args: argparse.Namespace) -> int:
    command = {"op": args.op, **controls(args, args.op)}
    with Client(args.address) as client:
        delivered = client.dispatch(command, daw=args.daw)
    title = DAW_NAMES[args.daw]
    if not delivered:
        how = ("run the action 'DAWBridge: Listen' in REAPER" if args.daw == "reaper" else
               f"open {title} with the DAWBridge script enabled")
        print(f"no {title} session is attached to the engine at {args.address}; {how} "
              f"(`dawbridge doctor {args.daw if args.daw != 'live' else 'ableton'}`)", file=sys.stderr)
        return 1
    print(f"sent {args.op} to {delivered} {title} session(s)")
    return 0


# --- other packages' commands ----------------------------------------------------------------


def _installer(args: argparse.Namespace) -> int:
    targets = INSTALL_TARGETS if args.command == "install" else DOCTOR_TARGETS
    if args.target is None:
        what = "DAW's setup to check" if args.command == "doctor" else "DAW scripts or service to install"
        print(f"error: name the {what}: " + " or ".join(f"`dawbridge {args.command} {t}`" for t in targets),
              file=sys.stderr)
        return 2
    module = _optional(f"installers.{args.target}", f"the {args.target} installer")
    if module is None:
        return 2
    doctor = args.command == "doctor"
    parser = (_DoctorOptions if doctor else argparse.ArgumentParser)(prog=f"dawbridge {args.command} {args.target}")
    module.add_arguments(parser)
    options = parser.parse_args(args.rest)
    options.action = args.command
    options.uninstall = getattr(options, "uninstall", False)
    if args.command == "doctor" and hasattr(module, "doctor"):
        return int(module.doctor(options))
    return int(module.run(options))


class _DoctorOptions(argparse.ArgumentParser):
    """An installer's options as `doctor` takes them: without those only installing uses."""

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        if "--uninstall" in names:
            return argparse.Action(option_strings=list(names), dest="uninstall")  # not offered
        return super().add_argument(*names, **kwargs)


def _forward(name: str, argv: list[str]) -> int:
    module = _optional("models.training" if name == "train" else "models.eval.harmonize", f"`dawbridge {name}`")
    return 2 if module is None else int(module.main(argv))


def _optional(name: str, what: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise
        print(f"error: {what} is not part of this installation (module {name} is missing); "
              "update DAWBridge or reinstall it with `pip install -e .`", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
