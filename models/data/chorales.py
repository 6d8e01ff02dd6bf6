"""Bach chorales from the music21 corpus as four-track Pieces (melody = soprano, alto, tenor,
bass), minus the hold-out list and minus every chorale whose soprano tune matches a piece of
the JSB validation split; and the soprano-tune matching used for that."""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from multiprocessing import Pool
from pathlib import Path

from models.keys import estimate_key
from models.representation import Part, Piece

log = logging.getLogger(__name__)

VOICES = (("melody", "soprano", "melody"), ("alto", "alto", "other"), ("tenor", "tenor", "other"),
          ("bass", "bass", "bass"))  # (role, vocal part name, Part.kind)
TUNE_MATCH_RATIO = 0.8  # soprano interval sequences at least this similar are the same tune


def tune_signature(pitches: Sequence[int]) -> tuple[int, ...]:
    """Melodic intervals of a merged pitch sequence: transposition-invariant."""
    return tuple(b - a for a, b in zip(pitches, pitches[1:], strict=False))


def tune_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Similarity 0..1 of two interval sequences (difflib ratio)."""
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def best_match(sig: Sequence[int], others: Sequence[Sequence[int]]) -> tuple[int, float]:
    """Index and similarity of the most similar signature in `others` (-1 when none)."""
    best, best_ratio = -1, 0.0
    for i, other in enumerate(others):
        if abs(len(other) - len(sig)) > 0.5 * max(len(sig), 1):
            continue
        matcher = difflib.SequenceMatcher(None, sig, other, autojunk=False)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    return best, best_ratio


def chorale_paths() -> list[Path]:
    from music21 import corpus

    from models.data.score import corpus_root

    root = corpus_root() / "bach"
    paths = {Path(p).resolve() for p in corpus.getComposer("bach")}
    return sorted(p for p in paths if p.parent == root)


def _pick_voices(score) -> list | None:
    """The S, A, T, B parts by name; else the parts themselves when there are exactly four."""
    by_name: dict[str, object] = {}
    for part in score.parts:
        name = (part.partName or part.id or "").strip().lower()
        for _, vocal, _ in VOICES:
            if name.startswith(vocal) and vocal not in by_name:
                by_name[vocal] = part
    if len(by_name) == 4:
        return [by_name[v] for _, v, _ in VOICES]
    if len(score.parts) == 4:
        return list(score.parts)
    return None


def parse_chorale(path: Path) -> tuple[Piece | None, str]:
    """One chorale file -> (Piece or None, reason). The Piece's split is left 'train'."""
    from music21 import converter

    from models.data import score as cs

    source = cs.corpus_source(path)
    try:
        score = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types on odd files
        log.warning("cannot parse %s: %s", source, exc)
        return None, "parse_error"
    voices = _pick_voices(score)
    if voices is None:
        return None, "not_four_voices"
    ts = cs.metre(score)
    if ts is None:
        return None, "metre_change"
    bar = ts[0] * 4.0 / ts[1]
    shift = cs.pickup_shift(voices[0], bar)
    all_notes = [cs.voice_notes(v, shift, highest=role != "bass" and role != "tenor")
                 for v, (role, _, _) in zip(voices, VOICES, strict=True)]
    if any(not n for n in all_notes):
        return None, "empty_voice"
    length = cs.bar_ceil(max(n[-1].end for n in all_notes), bar)
    key_str = estimate_key([n for notes in all_notes for n in notes], cs.sharps(score))
    bpm = cs.tempo_bpm(score)
    tracks = tuple(
        (role, Part(notes, length, ts, bpm, key_str, name=vocal.capitalize(), kind=kind))
        for notes, (role, vocal, kind) in zip(all_notes, VOICES, strict=True)
    )
    labels = {"pickup": f"{shift:g}"}
    return Piece(tracks, "chorale", source, "train", labels), "ok"


def parse_chorales(paths: Iterable[Path], workers: int = 2) -> list[tuple[Piece | None, str]]:
    paths = list(paths)
    if workers <= 1:
        return [parse_chorale(p) for p in paths]
    with Pool(workers) as pool:
        return pool.map(parse_chorale, paths, chunksize=4)


def load_bach_chorales(
    holdout: Iterable[str] = (),
    exclude_tunes: Sequence[Sequence[int]] = (),
    workers: int = 2,
    counts: Counter | None = None,
    parsed: dict[str, tuple[Piece | None, str]] | None = None,
    paths: Sequence[Path] | None = None,
) -> list[Piece]:
    """Bach chorales of the music21 corpus, in corpus-path order.

    `holdout` lists corpus paths ('bach/bwv102.7.mxl') never loaded; `exclude_tunes` are merged
    soprano pitch sequences (e.g. the JSB validation melodies) whose tune, if matched at
    TUNE_MATCH_RATIO or more, removes the chorale. `counts` receives why pieces were left out.
    `parsed` ({source: parse_chorale result}) skips parsing files already parsed; `paths`
    limits loading to some files of the corpus.
    """
    from models.data.score import corpus_source, merged_pitches

    counts = counts if counts is not None else Counter()
    held = {h.strip() for h in holdout if h.strip()}
    candidates, paths = (chorale_paths() if paths is None else paths), []
    for path in candidates:
        rel = path.relative_to(path.parents[1]).as_posix()
        if rel in held:
            counts["holdout_list"] += 1
        else:
            paths.append(path)
    excluded_sigs = [tune_signature(t) for t in exclude_tunes]
    pieces: list[Piece] = []
    if parsed is None:
        parsed = dict(zip(map(corpus_source, paths), parse_chorales(paths, workers), strict=True))
    for piece, reason in (parsed[corpus_source(p)] for p in paths):
        if piece is None:
            counts[reason] += 1
            continue
        sig = tune_signature(merged_pitches(piece.tracks[0][1].notes))
        _, ratio = best_match(sig, excluded_sigs)
        if ratio >= TUNE_MATCH_RATIO:
            counts["jsb_valid_tune"] += 1
            log.info("%s matches a JSB valid tune (%.2f): left out", piece.source, ratio)
            continue
        pieces.append(piece)
    counts["loaded"] += len(pieces)
    log.info("bach chorales: %s", dict(counts))
    return pieces
