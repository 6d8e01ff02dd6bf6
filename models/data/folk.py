"""Public-domain folk melodies of the music21 corpus (O'Neill's 1850, Ryan's Mammoth, Aird's
Airs; ABC) as one-track Pieces, with the tune type from the ABC `R:` field as style.

Style mapping onto the protocol's MELODY_STYLES (the raw field is kept in labels["rhythm"]):
jig, double jig, single jig, slip jig, slide -> jig; reel -> reel; hornpipe, clog -> hornpipe;
air, waltz, march, polka -> themselves. Strathspeys and highland flings are Scottish dances in
a dotted, snapped 4/4 that a "reel" request should not produce, so they get no style (None),
as do gavottes, walkarounds and tunes without `R:`. Without `R:`, a title that names the tune
type ("... Reel", "... Hornpipe") is used instead. Repeats are kept as written, not expanded.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import Pool

from models.data.score import (
    bar_ceil,
    corpus_root,
    hashed_split,
    metre,
    pickup_shift,
    sharps,
    tempo_bpm,
    voice_notes,
)
from models.keys import estimate_key
from models.representation import Part, Piece

log = logging.getLogger(__name__)

COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs")
STYLE_WORDS: dict[str, str | None] = {
    "jig": "jig", "double jig": "jig", "single jig": "jig", "slip jig": "jig", "slipjig": "jig",
    "slide": "jig", "reel": "reel", "hornpipe": "hornpipe", "clog": "hornpipe", "air": "air",
    "waltz": "waltz", "march": "march", "polka": "polka",
    "strathspey": None, "highland fling": None, "fling": None,
}
_TITLE_STYLES = ("hornpipe", "reel", "jig", "waltz", "march", "polka", "strathspey")


def folk_style(rhythm: str | None, title: str = "") -> str | None:
    """Protocol style for an ABC `R:` value (falling back on the title's last tune-type word)."""
    if rhythm:
        return STYLE_WORDS.get(" ".join(rhythm.lower().replace("-", " ").split()))
    words = re.findall(r"[a-z]+", title.lower())
    for word in reversed(words):
        if word in _TITLE_STYLES:
            return STYLE_WORDS[word]
    return None


def split_tunes(text: str) -> tuple[str, list[str]]:
    """(file header, [tune text]) of an ABC file; tunes start at `X:` lines."""
    chunks = re.split(r"(?m)^(?=X:)", text)
    header = chunks[0] if not chunks[0].startswith("X:") else ""
    return header, [c for c in chunks if c.startswith("X:")]


def _field(tune: str, name: str) -> str:
    m = re.search(rf"(?m)^{name}:[ \t]*(.*?)[ \t]*$", tune)
    return m.group(1) if m else ""


def folk_tunes() -> list[tuple[str, str]]:
    """(source, ABC text) for every tune of the three collections, in file order."""
    root = corpus_root()
    out = []
    for collection in COLLECTIONS:
        for path in sorted((root / collection).glob("*.abc")):
            header, tunes = split_tunes(path.read_text(encoding="utf-8", errors="replace"))
            rel = path.relative_to(root).as_posix()
            for i, tune in enumerate(tunes):
                out.append((f"music21:{rel}#{_field(tune, 'X') or i}", header + tune))
    return out


@contextmanager
def _without_beaming() -> Iterator[None]:
    """music21's ABC reader beams every part it builds, which is most of its parse time and
    means nothing to a note list: skip it while parsing."""
    from music21 import stream

    stream.Part.makeBeams = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del stream.Part.makeBeams


def parse_tune(item: tuple[str, str]) -> tuple[Piece | None, str]:
    """One ABC tune -> (Piece or None, reason)."""
    from music21 import converter

    source, text = item
    try:
        with _without_beaming():
            score = converter.parseData(text, format="abc")
    except Exception as exc:  # music21's ABC reader raises many types on odd tunes
        log.debug("cannot parse %s: %s", source, exc)
        return None, "parse_error"
    if hasattr(score, "scores"):  # an Opus of one
        if len(score.scores) != 1:
            return None, "not_one_tune"
        score = score.scores[0]
    ts = metre(score)
    if ts is None:
        return None, "metre_change"
    parts = list(score.parts) if hasattr(score, "parts") and score.parts else [score]
    bar = ts[0] * 4.0 / ts[1]
    shift = pickup_shift(parts[0], bar)  # type: ignore[arg-type]  # a Score without parts is read as one
    notes = voice_notes(parts[0], shift)
    if len(notes) < 8:
        return None, "too_short"
    rhythm, title = _field(text, "R"), _field(text, "T")
    key_str = estimate_key(notes, sharps(score))
    part = Part(notes, bar_ceil(notes[-1].end, bar), ts, tempo_bpm(score), key_str,
                name=title or None, kind="melody")
    labels = {"pickup": f"{shift:g}"}
    if rhythm:
        labels["rhythm"] = rhythm
    if title:
        labels["title"] = title
    return Piece((("melody", part),), folk_style(rhythm, title), source,
                 hashed_split(source), labels), "ok"


def load_folk(workers: int = 2, counts: Counter | None = None, limit: int | None = None
              ) -> list[Piece]:
    """Every tune of the three collections (the first `limit` when given)."""
    counts = counts if counts is not None else Counter()
    tunes = folk_tunes()[:limit]
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(parse_tune, tunes, chunksize=16)
    else:
        results = [parse_tune(t) for t in tunes]
    pieces = []
    for piece, reason in results:
        if piece is None:
            counts[reason] += 1
        else:
            pieces.append(piece)
    counts["loaded"] += len(pieces)
    log.info("folk: %s", dict(counts))
    return pieces
