"""Command-line flags for an op's controls, generated from its request model so the CLI and
the protocol cannot drift: ``--style``, ``--candidates``, ``--keep-rhythm``, ``--pitch-range LO HI``."""

from __future__ import annotations

import argparse
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from bridge.cli import chords
from bridge.protocol import (
    ContinueRequest,
    DrumsRequest,
    FillRequest,
    HarmonizeRequest,
    RestyleRequest,
    VaryRequest,
)

REQUESTS: dict[str, type[BaseModel]] = {
    "harmonize": HarmonizeRequest, "drums": DrumsRequest, "fill": FillRequest,
    "vary": VaryRequest, "continue": ContinueRequest, "restyle": RestyleRequest,
}
NOT_CONTROLS = frozenset({"v", "id", "op", "timeout", "clip", "context"})
METAVARS = {"pitch_range": ("LOW", "HIGH"), "span": ("START", "END"), "time_signature": ("NUM", "DEN")}


def add_controls(parser: argparse.ArgumentParser, op: str, defaults: dict[str, str] | None = None) -> None:
    """Add one flag per control field of ``op``; every default is None (= the engine's, or what
    ``defaults`` says the command fills in, e.g. ``{"bars": "the file's length"}``); a field
    the protocol requires is a required flag."""
    group = parser.add_argument_group(f"{op} controls")
    for name, info in REQUESTS[op].model_fields.items():
        if name in NOT_CONTROLS:
            continue
        flag = "--" + name.replace("_", "-")
        kind = _without_none(info.annotation)
        default = (defaults or {}).get(name, info.default)
        shown = "required" if info.is_required() else None if default is None else f"default: {default}"
        help_text = " ".join(filter(None, (info.description, shown and f"({shown})"))).replace("%", "%%")
        common: dict[str, Any] = {"dest": name, "help": help_text}
        if info.is_required():
            common["required"] = True
        else:
            common["default"] = None
        if name == "chords":  # text, read in the clip's metre by bridge/cli/chords.py
            group.add_argument(flag, metavar="CHORDS", **common | {"help": chords.HELP})
        elif kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        elif get_origin(kind) is Literal:
            group.add_argument(flag, choices=list(get_args(kind)), **common)
        elif get_origin(kind) is tuple:
            group.add_argument(flag, type=get_args(kind)[0], nargs=2, metavar=METAVARS.get(name, ("A", "B")),
                               **common)
        else:
            group.add_argument(flag, type=kind, **common)


def controls(args: argparse.Namespace, op: str) -> dict[str, Any]:
    """The control values given on the command line, as request fields."""
    values: dict[str, Any] = {}
    for name in REQUESTS[op].model_fields:
        value = getattr(args, name, None)
        if name not in NOT_CONTROLS and value is not None:
            values[name] = list(value) if isinstance(value, tuple | list) else value
    return values


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation
