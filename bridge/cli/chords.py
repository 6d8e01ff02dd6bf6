"""Chords on the command line: ``--chords "Am F C G"`` (a chord a bar) or ``"Am:2 G:2 F"`` (a
chord and its length in beats, else a bar) for harmonize, the plan a result follows written
as marker events, and ``dawbridge chords IN.mid``, which prints the chord plan of a clip (the
chords of a chord or keys part, or the plan harmonize would follow under a melody).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bridge.cli import midifile
from bridge.client import ClientError
from bridge.protocol import Clip
from models.harmony.symbols import parse

HELP = ('the chords to follow: "Am F C G" (a chord a bar, from the first bar line) or "Am:2 G:2" '
        "(beats each; a chord without a length lasts a bar)")


def parse_progression(text: str, beats_per_bar: float, pickup: float = 0.0) -> list[dict[str, Any]]:
    """``text`` -> the protocol's chords ([{"start", "symbol"}]); the first chord also covers a
    pickup, the next ones start on the bar lines after it. Raises ValueError naming the item."""
    out: list[dict[str, Any]] = []
    at = pickup
    for item in text.replace(",", " ").replace("|", " ").split():
        symbol, sep, length = item.partition(":")
        parse(symbol)  # the error names the symbol and what is accepted
        try:
            beats = float(length) if sep else beats_per_bar
        except ValueError:
            raise ValueError(f"--chords item {item!r}: the length after ':' must be a number of beats") from None
        if not 0 < beats <= 64:
            raise ValueError(f"--chords item {item!r}: the length must be in range 0..64 beats (above 0)")
        out.append({"start": 0.0 if not out else round(at, 6), "symbol": symbol})
        at += beats
    if not out:
        raise ValueError("--chords must name at least one chord, e.g. \"Am F C G\"")
    return out


def resolve(fields: dict[str, Any], song: midifile.Song | None = None,
            sent: Sequence[midifile.FilePart] = ()) -> dict[str, Any]:
    """Request fields with a ``--chords`` text turned into the protocol's list, in the clip's
    metre (a ClientError, nothing sent, when the text is not understood). Without --chords, a
    melody sent from a file that also holds a chord or keys part follows that part's chords."""
    text = fields.get("chords")
    if text is None and song is not None and "clip" in fields:
        return fields | _song_chords(song, sent)
    if not isinstance(text, str):
        return fields
    clip = fields.get("clip") or {}
    num, den = clip.get("time_signature", (4, 4))
    try:
        return fields | {"chords": parse_progression(text, num * 4.0 / den, fields.get("pickup") or 0.0)}
    except ValueError as exc:
        raise ClientError(str(exc)) from None


def _song_chords(song: midifile.Song, sent: Sequence[midifile.FilePart]) -> dict[str, Any]:
    """{"chords": [...]} read from the file's chord or keys part (not the one sent), or {}."""
    from bridge.serve.convert import clip_to_part
    from models.harmony import detect
    from models.ops.harmonize import is_chord_input

    for part in song.parts:
        if part in sent or part.is_drums or not part.notes:
            continue
        clip = clip_to_part(song.clip(part))
        if is_chord_input(clip):
            spans = detect.progression(clip)
            if spans:
                print(f"following the chords of {part.describe()}: {' '.join(s.chord.symbol for s in spans)}",
                      file=sys.stderr)
                return {"chords": [{"start": s.start, "symbol": s.chord.symbol} for s in spans]}
    return {}


def markers(result: dict[str, Any]) -> list[tuple[float, str]]:
    """The chord plan of a result's first candidate as (beat, symbol) marker events."""
    candidates = result.get("candidates") or [{}]
    return [(float(c["start"]), str(c["symbol"])) for c in candidates[0].get("chords", [])]


def warnings(result: dict[str, Any]) -> list[str]:
    """What the engine said the producer should know (a pickup read from the melody, a melody
    outside a locked key), once each."""
    seen: dict[str, None] = {}
    for candidate in result.get("candidates") or []:
        for text in candidate.get("warnings", []):
            seen[str(text)] = None
    return list(seen)


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("input", help="a Standard MIDI File (type 0 or 1)")
    sub.add_argument("--track", help="the part to read: its number or part of its name (default: the melody)")
    sub.add_argument("--style", choices=("chorale", "chords", "bass"), default="chorale",
                     help="plan at the pace of this harmonize style (default chorale: a chord a beat)")
    sub.add_argument("--key", help='the key to plan in, e.g. "D minor" (default: the file\'s or the estimated one)')
    sub.add_argument("--pickup", type=float, help="beats before the first bar line (default: read from the melody)")


def run(args: argparse.Namespace) -> int:
    """Print the chord plan of a file's melody (or chord part), bar by bar."""
    from bridge.serve.convert import clip_to_part
    from models.ops.harmonize import chord_plan

    song = midifile.read(args.input)
    part = midifile.choose(song, "melody", args.track)
    clip: Clip = song.clip(part)
    try:
        harmony = chord_plan(clip_to_part(clip), args.style, args.key, pickup=args.pickup)
    except ValueError as exc:
        raise ClientError(str(exc)) from None
    bar = song.time_signature[0] * 4.0 / song.time_signature[1]
    lead = (bar - harmony.pad) % bar
    kind = "chords read from" if harmony.chord_input else "chord plan for"
    print(f"{kind} {part.describe()} in {harmony.key}, {song.time_signature[0]}/{song.time_signature[1]}"
          + (f", pickup {lead:g} beats" if lead else ""))
    for beat, chord in harmony.items():
        bar_no, in_bar = divmod(beat - lead, bar) if beat >= lead else (-1.0, beat)
        print(f"{beat:>8g}  bar {int(bar_no) + 1:>3} beat {in_bar + 1:<5g} {chord.symbol}")
    print("progression: " + " ".join(chord.symbol for _, chord in harmony.items()))
    return 0
