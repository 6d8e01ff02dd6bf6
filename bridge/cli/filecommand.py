"""The file commands (`dawbridge harmonize IN.mid -o OUT.mid`, ...): read a MIDI file, pick
the part to send, ask an engine, write the result (and a piano-roll preview).

Which engine: the one answering at ``--address`` (default the local engine); when none
answers, or with ``--in-process`` or ``--weights``, an engine runs inside this process.
Output paths are checked before any work (the input is never overwritten); Ctrl+C cancels
the request at the engine, so it stops working for a client that is gone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.cli import chords, midifile, preview
from bridge.cli.controls import controls
from bridge.client import Client, ClientError, EngineUnreachable
from bridge.constants import CLIENT_GRACE, PROBE_TIMEOUT
from bridge.protocol import DRUM_STYLES, MAX_CONTEXT_CLIPS, MAX_GENERATED_BARS, Clip
from bridge.serve.engine import ComposerSlot
from bridge.serve.server import running_engine

CANCEL_WAIT = 2.0  # seconds Ctrl+C waits for the engine to confirm the cancel


def run(op: str, args: argparse.Namespace) -> int:
    refusal = _output_refusal(args)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    song = midifile.read(args.input)
    for notice in song.notices:
        print(f"note: {notice}", file=sys.stderr)
    parts, source, fields = _request_fields(op, song, args)
    fields = chords.resolve(fields | controls(args, op), song if op == "harmonize" else None, parts)
    with _engine(args) as address, Client(address) as client, _progress(op) as on_progress:
        started = time.perf_counter()
        request_id = client.send(op, **fields, timeout=args.timeout)
        try:
            result = client.wait(request_id, args.timeout + CLIENT_GRACE, on_progress)
        except KeyboardInterrupt:
            stopped = "stopped" if _cancel(client, request_id) else "was asked to stop (it did not confirm)"
            print(f"interrupted: the engine {stopped} the {op} request; nothing written", file=sys.stderr)
            return 130
        seconds = time.perf_counter() - started
    candidates = [[Clip.model_validate(c) for c in cand["clips"]] for cand in result["candidates"]]
    offset = source[0].length if op == "continue" and source else 0.0
    tracks, programs = _output_tracks(op, parts, source, candidates, offset)
    metre = source[0].time_signature if source else song.time_signature
    midifile.write(args.output, tracks, song.tempo, metre, song.key, song.tempos, programs, chords.markers(result))
    for warning in chords.warnings(result):
        print(f"note: {warning}", file=sys.stderr)
    print(f"wrote {args.output}: {sum(len(c) for c in candidates)} clip(s) in {len(candidates)} candidate(s) "
          f"from {result['model']} (seed {result['seed']}, {_timing(seconds, float(result['elapsed']))})")
    if args.preview:
        preview.draw(args.preview, source, candidates, title=f"{op}: {args.input}", offset=offset)
        print(f"wrote {args.preview}")
    return 0


def _output_tracks(op: str, parts: list[midifile.FilePart], source: list[Clip], candidates: list[list[Clip]],
                   offset: float) -> tuple[list[tuple[Clip, float]], list[midifile.Programs]]:
    """The tracks of the output file (the sent parts, then each candidate's clips from
    ``offset``) and their program changes: a sent part keeps its own; a candidate of an op that
    rewrites one part (not harmonize or drums, which add new parts) plays on that part's program."""
    tracks = [(clip.model_copy(update={"name": clip.name or "input"}), 0.0) for clip in source]
    programs = [part.programs for part in parts]
    same_part = parts[0] if len(parts) == 1 and op not in ("harmonize", "drums") else None
    program = same_part.program_at(offset) if same_part else None
    for number, clips in enumerate(candidates, start=1):
        for clip in clips:
            name = clip.name or op
            if len(candidates) > 1:
                name = f"candidate {number}: {name}"
            tracks.append((clip.model_copy(update={"name": name}), offset))
            programs.append([] if program is None else [(0.0, program)])
    return tracks, programs


def _output_refusal(args: argparse.Namespace) -> str | None:
    """Why the output paths cannot be used, before any work is done; None when they can."""
    source = Path(args.input)
    written: list[Path] = []
    for flag, value in (("-o", args.output), ("--preview", args.preview)):
        if value is None:
            continue
        path = Path(value)
        if _same_file(path, source):
            return f"{flag} {value} is the input file; write to another file (the input is never overwritten)"
        if any(_same_file(path, other) for other in written):
            return f"{flag} {value} is also the -o file; give the preview its own .png file"
        folder = path.parent
        if not folder.is_dir():
            return f"{flag} {value}: the folder {folder} does not exist; create it first"
        written.append(path)
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _cancel(client: Client, request_id: str) -> bool:
    """Ask the engine to stop ``request_id``; True when it confirms within CANCEL_WAIT."""
    try:
        client.wait(client.send("cancel", target=request_id), CANCEL_WAIT)
    except ClientError:  # already finished, or the engine is gone: nothing left to stop
        return False
    return True


def _timing(seconds: float, computing: float) -> str:
    """The wall time from sending to the result; the engine's share when waiting was most of it."""
    return f"{seconds:.2f} s" + (f", {computing:.2f} s of it computing" if seconds - computing >= 0.5 else "")


def _request_fields(op: str, song: midifile.Song,
                    args: argparse.Namespace) -> tuple[list[midifile.FilePart], list[Clip], dict[str, Any]]:
    """The parts sent, their clips (also written to the output as the first tracks) and the
    request fields."""
    if op == "drums":
        parts = [p for p in song.parts if not p.is_drums][:MAX_CONTEXT_CLIPS]
        if args.track is not None:
            parts = [midifile.choose(song, "melody", args.track)]
        context = [song.clip(p) for p in parts]
        bar = song.time_signature[0] * 4.0 / song.time_signature[1]
        fields: dict[str, Any] = {
            "context": [c.model_dump(mode="json", exclude_none=True) for c in context],
            "bars": min(MAX_GENERATED_BARS, max(1, round(song.length / bar))),
            "time_signature": list(song.time_signature),
        }
        if song.tempo is not None:
            fields["tempo"] = song.tempo
        return parts, context, fields
    want = "drums" if op == "fill" or (op == "restyle" and args.style in DRUM_STYLES) else "melody"
    part = midifile.choose(song, want, args.track)
    print(f"using part {part.describe()}", file=sys.stderr)
    clip = song.clip(part)  # drums when on channel 10; else the model reads what the notes are
    return [part], [clip], {"clip": clip.model_dump(mode="json", exclude_none=True)}


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
