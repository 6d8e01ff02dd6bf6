"""The corpus cache: Pieces stored as gzip-compressed JSON (never pickle), one file per source,
tagged with a format version and a fingerprint of the inputs so that stale files are rebuilt."""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path
from typing import Any

from models.representation import Note, Part, Piece

log = logging.getLogger(__name__)

CACHE_FORMAT = "dawbridge-corpus"
CACHE_VERSION = 1


def piece_to_json(piece: Piece) -> dict[str, Any]:
    tracks = []
    for role, part in piece.tracks:
        tracks.append({
            "role": role,
            "length": part.length,
            "time_signature": list(part.time_signature),
            "tempo": part.tempo,
            "key": part.key,
            "name": part.name,
            "kind": part.kind,
            "extra": dict(part.extra),
            "notes": [[n.pitch, n.start, n.duration, n.velocity] for n in part.notes],
        })
    return {"source": piece.source, "style": piece.style, "split": piece.split,
            "labels": dict(piece.labels), "tracks": tracks}


def piece_from_json(data: dict[str, Any]) -> Piece:
    tracks = []
    for t in data["tracks"]:
        notes = tuple(Note(int(p), float(s), float(d), int(v)) for p, s, d, v in t["notes"])
        ts = (int(t["time_signature"][0]), int(t["time_signature"][1]))
        part = Part(notes, float(t["length"]), ts, t["tempo"], t["key"], t["name"], t["kind"],
                    dict(t["extra"]))
        tracks.append((t["role"], part))
    return Piece(tuple(tracks), data["style"], data["source"], data["split"], dict(data["labels"]))


def cache_file(cache_dir: Path, source: str) -> Path:
    return Path(cache_dir) / f"{source}.json.gz"


def write_pieces(cache_dir: Path, source: str, pieces: list[Piece], fingerprint: str,
                 stats: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    path = cache_file(cache_dir, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "source": source,
           "fingerprint": fingerprint, "stats": stats or {},
           "pieces": [piece_to_json(p) for p in pieces]}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as f:
        json.dump(doc, f, separators=(",", ":"))
    tmp.replace(path)
    log.info("cached %d %s pieces in %s", len(pieces), source, path)
    return path


def read_pieces(cache_dir: Path, source: str, fingerprint: str | None = None
                ) -> tuple[list[Piece], dict[str, Any]] | None:
    """(pieces, stats) from the cache, or None when absent, of another version or stale."""
    path = cache_file(cache_dir, source)
    if not path.exists():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        log.warning("unreadable cache %s: %s", path, exc)
        return None
    if doc.get("format") != CACHE_FORMAT or doc.get("version") != CACHE_VERSION:
        return None
    if fingerprint is not None and doc.get("fingerprint") != fingerprint:
        log.info("cache %s is stale", path)
        return None
    return [piece_from_json(p) for p in doc["pieces"]], doc.get("stats", {})
