"""REAPER's ``reaper.ini``: reading keys of its ``[REAPER]`` section, and setting a few of them
in place.

REAPER rewrites the file itself, so an edit touches only the lines of the keys it sets: every
other byte (order, case, comments, line endings, keys REAPER wrote twice) stays as it was. Keys
and the section name compare case-insensitively, as REAPER reads them. The file is replaced in
one step (a temporary file beside it, then ``os.replace``), so no backup or partial file is left.
"""

from __future__ import annotations

import os
from pathlib import Path

SECTION = "REAPER"


def _lines(ini: Path) -> list[str]:
    if not ini.is_file():
        return []
    return ini.read_bytes().decode("utf-8", "surrogateescape").splitlines(keepends=True)


def _is_header(line: str) -> bool:
    text = line.strip()
    return text.startswith("[") and text.endswith("]")


def _key(line: str) -> str | None:
    key, sep, _ = line.partition("=")
    return key.strip().lower() if sep and not _is_header(line) else None


def _section_span(lines: list[str], section: str) -> tuple[int, int] | None:
    """``(header index, end index)`` of ``[section]``, None when the file has none."""
    wanted = f"[{section.lower()}]"
    for start, line in enumerate(lines):
        if line.strip().lower() == wanted:
            end = start + 1
            while end < len(lines) and not _is_header(lines[end]):
                end += 1
            return start, end
    return None


def read(ini: Path, section: str = SECTION) -> dict[str, str]:
    """The section's keys (lower case) and values; the first of a key REAPER wrote twice."""
    lines = _lines(ini)
    span = _section_span(lines, section)
    values: dict[str, str] = {}
    if span is not None:
        for line in lines[span[0] + 1:span[1]]:
            key = _key(line)
            if key is not None and key not in values:
                values[key] = line.partition("=")[2].strip()
    return values


def write(ini: Path, values: dict[str, str | None], section: str = SECTION) -> dict[str, str | None]:
    """Set each ``key=value`` of ``values`` in ``[section]`` (None removes the key); return the
    values they had before (None: absent). The section is added at the end when missing."""
    lines = _lines(ini)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    before = {key: read(ini, section).get(key.lower()) for key in values}
    span = _section_span(lines, section)
    if span is None:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        lines.append(f"[{section}]{newline}")
        span = (len(lines) - 1, len(lines))
    start, end = span
    wanted = {key.lower(): (key, value) for key, value in values.items()}
    kept, placed = [], set()
    for line in lines[start + 1:end]:
        key = _key(line)
        if key in wanted:
            if key not in placed and wanted[key][1] is not None:
                kept.append(f"{line.partition('=')[0]}={wanted[key][1]}{newline}")
            placed.add(key)
        else:
            kept.append(line)
    last = max((i for i, line in enumerate(kept) if _key(line) is not None), default=-1)
    added = [f"{name}={value}{newline}" for key, (name, value) in wanted.items()
             if key not in placed and value is not None]
    kept[last + 1:last + 1] = added
    lines[start + 1:end] = kept
    temporary = ini.with_name(ini.name + ".dawbridge-new")
    temporary.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    os.replace(temporary, ini)
    return before
