"""Shared fixtures: real engines on free loopback ports.

    def test_something(start_engine):
        server = start_engine(composer=MyComposer())   # or weights=PATH, or nothing
        with Client(server.address) as client: ...

    def test_other(engine_address):                    # the engine with the shipped weights
        ...

Engines run in a background thread of the test process and are stopped (everything in
flight answered) when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from bridge.serve.engine import ComposerSlot
from bridge.serve.server import Server, running_engine

StartEngine = Callable[..., Server]


@pytest.fixture
def start_engine() -> Iterator[StartEngine]:
    """A factory: ``start_engine(composer=None, weights=None, device="cpu", **options)``
    starts an engine on ``tcp://127.0.0.1:<free port>`` and returns its Server (``.address``).
    Options are Server's: queue_size, workers, shutdown_grace."""
    with ExitStack() as stack:

        def start(composer: Any = None, weights: str | Path | None = None, device: str = "cpu",
                  **options: Any) -> Server:
            slot = None if composer is not None else ComposerSlot.from_weights(weights, device)
            return stack.enter_context(
                running_engine("tcp://127.0.0.1:*", composer=composer, slot=slot, **options))

        yield start


@pytest.fixture
def engine_address(start_engine: StartEngine) -> str:
    """The address of an engine serving the shipped weights (or answering model_unavailable)."""
    return str(start_engine().address)


@pytest.fixture
def modelless_address(start_engine: StartEngine, tmp_path: Path) -> str:
    """The address of an engine with no model: musical ops answer model_unavailable. For tests
    of the transport and service ops, which then never wait for weights to load."""
    return str(start_engine(weights=tmp_path / "no-weights").address)
