"""Command-line flags for an op's controls, generated from its request model so the CLI and
the protocol cannot drift: ``--style``, ``--candidates``, ``--keep-rhythm``, ``--pitch-range LO HI``."""

from __future__ import annotations

import argparse
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

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


def add_controls(parser: argparse.ArgumentParser, op: str) -> None:
    """Add one flag per control field of ``op``; every default is None (= the engine's)."""
    group = parser.add_argument_group(f"{op} controls")
    for name, info in REQUESTS[op].model_fields.items():
        if name in NOT_CONTROLS:
            continue
        flag = "--" + name.replace("_", "-")
        kind = _without_none(info.annotation)
        help_text = f"{info.description or ''} (default: {info.default})".replace("%", "%%")
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif get_origin(kind) is Literal:
            group.add_argument(flag, dest=name, choices=list(get_args(kind)), default=None, help=help_text)
        elif get_origin(kind) is tuple:
            group.add_argument(flag, dest=name, type=get_args(kind)[0], nargs=2, default=None,
                               metavar=METAVARS.get(name, ("A", "B")), help=help_text)
        else:
            group.add_argument(flag, dest=name, type=kind, default=None, help=help_text)


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
