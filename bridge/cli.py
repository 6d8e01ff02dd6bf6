"""The `dawbridge` command: run the engine, talk to it, run ops on MIDI files, push commands
to attached DAW sessions, and hand off to the installers, training and evaluation."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from types import ModuleType

from bridge import __version__
from bridge.client import Client, ClientError, EngineError
from bridge.constants import DEFAULT_ADDRESS, LOOPBACK_HOSTS, QUEUE_SIZE, WORKERS
from bridge.controls import add_controls, controls
from bridge.midifile import MidiFileError
from bridge.protocol import MUSICAL_OPS

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("train", "eval"):  # the model's own CLIs parse their arguments
        return _forward(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO if args.command == "serve"
                        else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except EngineError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (ClientError, MidiFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
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
    serve.add_argument("--workers", type=int, default=WORKERS, help="threads calling the model")
    serve.add_argument("--insecure", action="store_true",
                       help="allow binding a non-loopback address without authentication")
    serve.set_defaults(handler=_serve)

    for name, handler, text in (("ping", _ping, "check that the engine answers"),
                                ("info", _info, "show the engine's model, device, ops and limits")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--address", default=DEFAULT_ADDRESS)
        sub.add_argument("--timeout", type=float, default=5.0)
        sub.set_defaults(handler=handler)

    for op in MUSICAL_OPS:
        sub = commands.add_parser(op, help=f"{OP_HELP[op]} (MIDI file in, MIDI file out)")
        sub.add_argument("input", help="a Standard MIDI File (type 0 or 1)")
        sub.add_argument("-o", "--output", required=True, help="where to write the result (.mid)")
        sub.add_argument("--track", help="the part to use: its number or part of its name (default: chosen)")
        sub.add_argument("--preview", metavar="PNG", help="also draw a piano roll of input and output")
        sub.add_argument("--address", default=DEFAULT_ADDRESS, help="the engine to use when it answers")
        sub.add_argument("--in-process", action="store_true", help="run the model in this process")
        sub.add_argument("--weights", help="run this model in this process")
        sub.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
        sub.add_argument("--timeout", type=float, default=120.0, help="seconds the work may take")
        add_controls(sub, op)
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
        sub = commands.add_parser(name, help=text)
        sub.add_argument("target", choices=targets)
        sub.add_argument("rest", nargs=argparse.REMAINDER, help="the installer's own options")
        sub.set_defaults(handler=_installer)

    for name in ("train", "eval"):
        commands.add_parser(name, help=f"{'fine-tune' if name == 'train' else 'evaluate'} the model "
                            f"(`dawbridge {name} --help`)", add_help=False)
    return parser


# --- the engine ------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import zmq

    from bridge.engine import ComposerSlot
    from bridge.server import Server

    if not _local(args.bind) and not args.insecure:
        print(f"error: {args.bind} is reachable from the network and this engine has no authentication "
              "yet; bind 127.0.0.1, or pass --insecure on a network you trust", file=sys.stderr)
        return 2
    server = Server(args.bind, ComposerSlot.from_weights(args.weights, args.device),
                    queue_size=args.queue, workers=args.workers)

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        server.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except zmq.ZMQError as exc:
        print(f"error: cannot bind {args.bind}: {exc} (is another engine running? try `dawbridge ping`)",
              file=sys.stderr)
        return 2
    return 0


def _local(address: str) -> bool:
    if address.startswith(("ipc://", "inproc://")):
        return True
    host = address.split("://", 1)[-1].rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _ping(args: argparse.Namespace) -> int:
    with Client(args.address, timeout=args.timeout) as client:
        seconds = client.ping()
    print(f"engine at {args.address} answered in {seconds * 1000:.2f} ms")
    return 0


def _info(args: argparse.Namespace) -> int:
    with Client(args.address, timeout=args.timeout) as client:
        print(json.dumps(client.info(), indent=2))
    return 0


def _file_command(op: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from bridge import filecommand  # deferred: mido, matplotlib and the model load only here

        return filecommand.run(op, args)

    return handler


def _dispatch(args: argparse.Namespace) -> int:
    command = {"op": args.op, **controls(args, args.op)}
    with Client(args.address) as client:
        delivered = client.dispatch(command, daw=args.daw)
    title = DAW_NAMES[args.daw]
    if not delivered:
        print(f"no {title} session is attached to the engine at {args.address}; open {title} with the "
              f"DAWBridge script enabled (`dawbridge doctor {args.daw if args.daw != 'live' else 'ableton'}`)",
              file=sys.stderr)
        return 1
    print(f"sent {args.op} to {delivered} {title} session(s)")
    return 0


# --- other packages' commands ----------------------------------------------------------------


def _installer(args: argparse.Namespace) -> int:
    module = _optional(f"installers.{args.target}", f"the {args.target} installer")
    if module is None:
        return 2
    parser = argparse.ArgumentParser(prog=f"dawbridge {args.command} {args.target}")
    module.add_arguments(parser)
    options = parser.parse_args(args.rest)
    options.action = args.command
    if args.command == "doctor" and hasattr(module, "doctor"):
        return int(module.doctor(options))
    return int(module.run(options))


def _forward(name: str, argv: list[str]) -> int:
    module = _optional(f"models.{'training' if name == 'train' else 'evaluation'}", f"`dawbridge {name}`")
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
