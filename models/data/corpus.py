"""The training corpus: every data source loaded once, cached as compressed JSON, with
deterministic train/valid splits, and `python -m models.data.corpus --stats` to build and count it.

Sources (see ../shared/data/SOURCES.md for licences and hold-outs):
  chorales  music21 Bach chorales minus the hold-out list and minus JSB-valid tunes
  jsb       JSB chorales; split 'valid' is the evaluation set, never trained on
  folk      O'Neill's 1850, Ryan's Mammoth, Aird's Airs (music21 ABC, public domain)
  groove    Groove MIDI Dataset train/validation (CC BY 4.0)
Derived at load time, not cached: chorale_chords and chorale_bass (melody + one accompaniment
track, from the chorales and JSB train/valid, see models.data.derive).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from models.data.cache import read_pieces, write_pieces
from models.data.chorales import (
    TUNE_MATCH_RATIO,
    best_match,
    chorale_paths,
    load_bach_chorales,
    parse_chorales,
    tune_signature,
)
from models.data.jsb import load_jsb, read_jsb, soprano_tunes
from models.data.score import corpus_source, hashed_split, merged_pitches
from models.representation import Piece

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = (REPO_ROOT / ".." / "shared" / "data").resolve()
DEFAULT_CACHE_DIR = REPO_ROOT / "runs" / "cache" / "corpus"
SOURCES = ("chorales", "jsb", "folk", "groove")
# Bump a source's version when its loader's output changes: its cache is then rebuilt.
LOADER_VERSIONS = {"chorales": "2", "jsb": "2", "folk": "2", "groove": "1"}


def holdout_paths(data_dir: Path = DATA_DIR) -> list[str]:
    path = data_dir / "holdout" / "music21-bach-holdout.txt"
    if not path.exists():
        raise FileNotFoundError(f"hold-out list not found: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _fingerprint(version: str, *parts: object) -> str:
    import music21

    h = hashlib.sha1(f"{version}|{music21.__version__}".encode())
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else str(part).encode())
    return h.hexdigest()


def grouped_splits(pieces: Sequence[Piece]) -> list[Piece]:
    """Hashed splits where every piece takes the split of the first piece of its tune, so two
    settings of one chorale tune never straddle train and valid."""
    sigs: list[tuple[int, ...]] = []
    splits: list[str] = []
    out = []
    for piece in pieces:
        sig = tune_signature(merged_pitches(piece.tracks[0][1].notes))
        j, ratio = best_match(sig, sigs)
        split = splits[j] if ratio >= TUNE_MATCH_RATIO else hashed_split(piece.source)
        sigs.append(sig)
        splits.append(split)
        out.append(replace(piece, split=split))
    return out


def build_chorales_and_jsb(data_dir: Path = DATA_DIR, workers: int = 2
                           ) -> tuple[dict[str, list[Piece]], dict[str, dict[str, int]]]:
    """Parse every music21 chorale once (hold-outs only to recognise their tunes), then apply
    the hold-out list, the JSB-valid tune exclusion and the JSB-train de-duplication."""
    jsb_path = data_dir / "jsb" / "jsb-chorales-16th-satb.json"
    holdout = set(holdout_paths(data_dir))
    jsb_data = read_jsb(jsb_path)
    results = {corpus_source(path): r
               for path, r in zip(chorale_paths(), parse_chorales(chorale_paths(), workers),
                                  strict=True)}
    parsed = [p for p, _ in results.values() if p is not None]
    held_refs = [replace(p, labels={**p.labels, "status": "holdout"}) for p in parsed
                 if p.source.removeprefix("music21:") in holdout]
    log.info("parsed %d chorales (%d of them held out)", len(parsed), len(held_refs))

    chorale_counts: Counter = Counter()
    chorales = load_bach_chorales(holdout, soprano_tunes(jsb_data, "valid"), workers,
                                  chorale_counts, parsed=results)
    chorales = grouped_splits(chorales)
    jsb_counts: dict[str, Counter] = {"train": Counter(), "valid": Counter()}
    train = load_jsb("train", jsb_path, parsed, [*chorales, *held_refs], jsb_counts["train"])
    valid = load_jsb("valid", jsb_path, parsed, (), jsb_counts["valid"])
    counts = {"chorales": dict(chorale_counts),
              "jsb_train": dict(jsb_counts["train"]), "jsb_valid": dict(jsb_counts["valid"])}
    return {"chorales": chorales, "jsb": train + valid}, counts


def _build(source: str, data_dir: Path, workers: int) -> tuple[dict[str, list[Piece]], dict]:
    if source in ("chorales", "jsb"):
        return build_chorales_and_jsb(data_dir, workers)
    if source == "folk":
        from models.data.folk import load_folk

        counts: Counter = Counter()
        return {"folk": load_folk(workers=workers, counts=counts)}, {"folk": dict(counts)}
    if source == "groove":
        from models.data.groove import load_groove

        counts = Counter()
        groove_dir = data_dir / "groove"
        pieces = load_groove("train", groove_dir, counts) + load_groove("valid", groove_dir, counts)
        return {"groove": pieces}, {"groove": dict(counts)}
    raise ValueError(f"source must be one of {SOURCES}, got {source!r}")


def _source_fingerprint(source: str, data_dir: Path) -> str:
    version = LOADER_VERSIONS[source]
    if source in ("chorales", "jsb"):
        return _fingerprint(version, data_dir / "holdout" / "music21-bach-holdout.txt",
                            data_dir / "jsb" / "jsb-chorales-16th-satb.json")
    if source == "groove":
        return _fingerprint(version, data_dir / "groove" / "info.csv")
    return _fingerprint(version, source)


def load_all(cache_dir: Path | str = DEFAULT_CACHE_DIR, sources: Iterable[str] = SOURCES,
             data_dir: Path = DATA_DIR, workers: int = 2, rebuild: bool = False,
             derived: bool = True) -> dict[str, list[Piece]]:
    """{source: pieces} for the requested sources, parsing only what the cache lacks."""
    cache_dir = Path(cache_dir).expanduser()
    out: dict[str, list[Piece]] = {}
    for source in sources:
        if source in out:
            continue
        fp = _source_fingerprint(source, data_dir)
        cached = None if rebuild else read_pieces(cache_dir, source, fp)
        if cached is not None:
            out[source] = cached[0]
            continue
        built, counts = _build(source, data_dir, workers)
        for name, pieces in built.items():
            stats = {k: v for k, v in counts.items() if k.startswith(name)}
            write_pieces(cache_dir, name, pieces, _source_fingerprint(name, data_dir), stats)
            if name in sources:
                out[name] = pieces
    if derived and "chorales" in out:
        from models.data.derive import derived_sources

        out.update(derived_sources(out["chorales"] + out.get("jsb", [])))
    return out


def training_split(source: str) -> list[Piece]:
    """The train split of one source, from the cache (e.g. the Groove performances that the
    humanize table and the drum style classifier are fitted on)."""
    return [p for p in load_all(sources=(source,), derived=False)[source] if p.split == "train"]


def stats_rows(corpus: dict[str, list[Piece]]) -> list[tuple[str, str, str, int, int, float]]:
    """(source, split, style, pieces, notes, bars) rows, sorted."""
    acc: dict[tuple[str, str, str], list[float]] = {}
    for source, pieces in corpus.items():
        for p in pieces:
            row = acc.setdefault((source, p.split, p.style or "-"), [0, 0, 0.0])
            row[0] += 1
            row[1] += sum(len(part.notes) for _, part in p.tracks)
            row[2] += p.first.bars
    return [(s, sp, st, int(v[0]), int(v[1]), v[2]) for (s, sp, st), v in sorted(acc.items())]


def grid_share(corpus: dict[str, list[Piece]], per_beat: int = 12) -> dict[str, float]:
    """Share of onsets per source that do not fall on a `per_beat` grid."""
    out = {}
    for source, pieces in corpus.items():
        total = off = 0
        for p in pieces:
            for _, part in p.tracks:
                for n in part.notes:
                    total += 1
                    x = n.start * per_beat
                    off += abs(x - round(x)) > 1e-3
        out[source] = off / total if total else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.data.corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stats", action="store_true", help="print counts per source/split/style")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    bad = [s for s in sources if s not in SOURCES]
    if bad:
        parser.error(f"--sources must be among {SOURCES}, got {bad}")
    corpus = load_all(args.cache_dir, sources, args.data_dir, args.workers, args.rebuild)
    if args.stats:
        print(f"{'source':<15}{'split':<7}{'style':<15}{'pieces':>8}{'notes':>10}{'bars':>9}")
        for source, split, style, n, notes, bars in stats_rows(corpus):
            print(f"{source:<15}{split:<7}{style:<15}{n:>8}{notes:>10}{bars:>9.0f}")
        for source, share in grid_share(corpus).items():
            print(f"{source}: {share:.2%} of onsets off the 12-per-beat grid")
        print(f"cache: {Path(args.cache_dir).expanduser().resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
