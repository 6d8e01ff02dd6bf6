"""The file commands (`dawbridge harmonize IN.mid -o OUT.mid`, ...): read a MIDI file, pick
the part to send, ask an engine, write the result (and a piano-roll preview).

Which engine: the one answering at ``--address`` (default the local engine); when none
answers, or with ``--in-process`` or ``--weights``, an engine runs inside this process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bridge.cli import midifile, preview
from bridge.cli.controls import controls
from bridge.client import Client, EngineUnreachable
from bridge.constants import PROBE_TIMEOUT
from bridge.protocol import DRUM_STYLES, MAX_CONTEXT_CLIPS, MAX_GENERATED_BARS, Clip
from bridge.serve.engine import ComposerSlot
from bridge.serve.server import running_engine


def run(op: str, args: argparse.Namespace) -> int:
    song = midifile.read(args.input)
    source, fields = _request_fields(op, song, args)
    fields.update(controls(args, op))
    with _engine(args) as address, Client(address) as client, _progress(op) as on_progress:
        result = client.request(op, timeout=args.timeout, on_progress=on_progress, **fields)
    candidates = [[Clip.model_validate(c) for c in cand["clips"]] for cand in result["candidates"]]
    offset = source[0].length if op == "continue" and source else 0.0
    tracks = [(clip.model_copy(update={"name": clip.name or "input"}), 0.0) for clip in source]
    for number, clips in enumerate(candidates, start=1):
        for clip in clips:
            name = clip.name or op
            if len(candidates) > 1:
                name = f"candidate {number}: {name}"
            tracks.append((clip.model_copy(update={"name": name}), offset))
    metre = source[0].time_signature if source else song.time_signature
    midifile.write(args.output, tracks, song.tempo, metre, song.key)
    print(f"wrote {args.output}: {sum(len(c) for c in candidates)} clip(s) in {len(candidates)} candidate(s) "
          f"from {result['model']} (seed {result['seed']}, {result['elapsed']:.2f} s)")
    if args.preview:
        preview.draw(args.preview, source, candidates, title=f"{op}: {args.input}", offset=offset)
        print(f"wrote {args.preview}")
    return 0


def _request_fields(op: str, song: midifile.Song, args: argparse.Namespace) -> tuple[list[Clip], dict[str, Any]]:
    """The clips sent (also written to the output as the first tracks) and the request fields."""
    if op == "drums":
        context = [song.clip(p) for p in song.parts if not p.is_drums][:MAX_CONTEXT_CLIPS]
        if args.track is not None:
            context = [song.clip(midifile.choose(song, "melody", args.track))]
        bar = song.time_signature[0] * 4.0 / song.time_signature[1]
        fields: dict[str, Any] = {
            "context": [c.model_dump(mode="json", exclude_none=True) for c in context],
            "bars": min(MAX_GENERATED_BARS, max(1, round(song.length / bar))),
            "time_signature": list(song.time_signature),
        }
        if song.tempo is not None:
            fields["tempo"] = song.tempo
        return context, fields
    want = "drums" if op == "fill" or (op == "restyle" and args.style in DRUM_STYLES) else "melody"
    part = midifile.choose(song, want, args.track)
    print(f"using part {part.describe()}", file=sys.stderr)
    clip = song.clip(part, kind="drums" if want == "drums" else None)
    return [clip], {"clip": clip.model_dump(mode="json", exclude_none=True)}


@contextmanager
def _engine(args: argparse.Namespace) -> Iterator[str]:
    """The address of the engine to use, running one in-process when needed."""
    local = args.in_process or args.weights is not None
    if not local:
        with Client(args.address, timeout=PROBE_TIMEOUT) as probe:
            try:
                probe.ping()
            except EngineUnreachable:
                local = True
                print(f"no engine at {args.address}; running the model in this process", file=sys.stderr)
    if not local:
        yield args.address
        return
    with running_engine("tcp://127.0.0.1:*", slot=ComposerSlot.from_weights(args.weights, args.device)) as server:
        yield str(server.address)


@contextmanager
def _progress(op: str) -> Iterator[Any]:
    """A progress bar on stderr (shown on terminals only) fed by progress events."""
    from tqdm import tqdm

    with tqdm(total=100, desc=op, unit="%", disable=None, file=sys.stderr, leave=False) as bar:

        def update(done: float) -> None:
            bar.n = round(done * 100)
            bar.refresh()

        yield update
