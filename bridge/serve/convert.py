"""Conversions at the engine's edge to the model: protocol Clips <-> model Parts, validated
requests -> :mod:`models.tasks`, model output -> a MusicResult."""

from __future__ import annotations

from typing import Any, cast

from bridge.protocol import (
    Candidate,
    ChordAt,
    Clip,
    ClipKind,
    ContinueRequest,
    DrumsRequest,
    FillRequest,
    HarmonizeRequest,
    MusicalRequest,
    MusicResult,
    Note,
    RestyleRequest,
    VaryRequest,
)
from models import representation as rep
from models import tasks

DRUM_CHANNEL = 9


def clip_to_part(clip: Clip) -> rep.Part:
    """A protocol clip as the model's Part (MIDI channels are dropped; ``kind`` says drums)."""
    notes = tuple(rep.Note(n.pitch, n.start, n.duration, n.velocity) for n in clip.notes)
    kind = clip.kind
    if kind is None and clip.notes and all(n.channel == DRUM_CHANNEL for n in clip.notes):
        kind = "drums"
    return rep.Part(notes=notes, length=clip.length, time_signature=clip.time_signature,
                    tempo=clip.tempo, key=clip.key, name=clip.name, kind=kind)


def part_to_clip(part: rep.Part) -> Clip:
    """A model Part as a protocol clip; raises ValueError when the part breaks a protocol bound."""
    channel = DRUM_CHANNEL if part.kind == "drums" else None
    notes = [Note(pitch=n.pitch, start=n.start, duration=n.duration, velocity=n.velocity, channel=channel)
             for n in part.notes]
    return Clip(notes=notes, length=part.length, time_signature=part.time_signature, tempo=part.tempo,
                key=part.key, name=part.name,
                kind=cast(ClipKind, part.kind) if part.kind in rep.PART_KINDS else None)


def request_to_task(request: MusicalRequest, seed: int) -> tasks.Task:
    """The model task for a validated musical request, sampling with ``seed``."""
    sampling = tasks.Sampling(candidates=request.candidates, temperature=request.temperature, seed=seed)
    match request:
        case HarmonizeRequest():
            chords = tuple((c.start, c.symbol) for c in request.chords) if request.chords else None
            return tasks.HarmonizeTask(melody=clip_to_part(request.clip), style=request.style,
                                       key=request.key, pitch_range=request.pitch_range, sampling=sampling,
                                       chords=chords, pickup=request.pickup)
        case DrumsRequest():
            return tasks.DrumsTask(bars=request.bars, time_signature=request.time_signature,
                                   tempo=request.tempo, style=request.style,
                                   context=tuple(clip_to_part(c) for c in request.context),
                                   humanize=request.humanize, density=request.density, sampling=sampling,
                                   fills=request.fills, fill_intensity=request.fill_intensity)
        case FillRequest():
            return tasks.FillTask(clip=clip_to_part(request.clip), span=request.span,
                                  intensity=request.intensity, humanize=request.humanize, sampling=sampling)
        case VaryRequest():
            return tasks.VaryTask(clip=clip_to_part(request.clip), strength=request.strength,
                                  keep_rhythm=request.keep_rhythm, key=request.key, sampling=sampling)
        case ContinueRequest():
            return tasks.ContinueTask(clip=clip_to_part(request.clip), bars=request.bars, key=request.key,
                                      sampling=sampling)
        case RestyleRequest():
            return tasks.RestyleTask(clip=clip_to_part(request.clip), style=request.style,
                                     strength=request.strength, sampling=sampling)
    raise TypeError(f"not a musical request: {type(request).__name__}")


def music_result(candidates: list[list[rep.Part]], model: str, seed: int, elapsed: float) -> MusicResult:
    """The reply body for the model's output: one Candidate per list of parts."""
    return MusicResult(candidates=[Candidate(clips=[part_to_clip(p) for p in parts],
                                             sources=sorted({p.extra["source"] for p in parts if "source" in p.extra}),
                                             chords=plan_of(parts), warnings=sorted({p.extra["warning"] for p in parts
                                                                                     if "warning" in p.extra}))
                                   for parts in candidates],
                       model=model, seed=seed, elapsed=round(elapsed, 6))


def plan_of(parts: list[rep.Part]) -> list[ChordAt]:
    """The chord plan a harmonize result carries ('0:Am 4:F/A' in its parts' extra)."""
    text = next((p.extra["chords"] for p in parts if "chords" in p.extra), "")
    return [ChordAt(start=float(start), symbol=symbol) for start, symbol in (i.split(":", 1) for i in text.split())]


def clip_from_dict(data: dict[str, Any]) -> Clip:
    """A clip from its JSON form (as found in a reply), validated."""
    return Clip.model_validate(data)
