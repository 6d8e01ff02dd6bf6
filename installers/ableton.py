"""Install the DAWBridge Remote Script into Ableton Live's User Library, remove it, or report
what is missing.

``dawbridge install ableton [--user-library DIR] [--uninstall]`` and ``dawbridge doctor ableton``
call :func:`add_arguments` and :func:`run`. Installing:

1. finds the User Library (``--user-library``; else the one Live's ``Library.cfg`` names; else
   ``~/Music/Ableton/User Library`` on macOS, ``~/Documents/Ableton/User Library`` on Windows);
2. copies ``daw_scripts/ableton/DAWBridge`` to ``Remote Scripts/DAWBridge/`` and
   ``daw_scripts/common`` into it as the subpackage ``common`` (Live has no pip);
3. records every file it wrote, with its hash, in ``DAWBridge/dawbridge-install.json``.

Installing again rewrites only what changed and removes files a newer version dropped.
``--uninstall`` removes exactly the recorded files (and the bytecode Live compiled from them),
then the folders if nothing else is left in them. The settings in ``~/.dawbridge`` stay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

REPO_SCRIPTS = Path(__file__).resolve().parent.parent / "daw_scripts"
SOURCES = ((REPO_SCRIPTS / "ableton" / "DAWBridge", ""), (REPO_SCRIPTS / "common", "common"))
SCRIPT_NAME = "DAWBridge"
MANIFEST = "dawbridge-install.json"
NEXT_STEPS = ("Restart Live, then in Settings > Link, Tempo & MIDI choose DAWBridge as a Control "
              "Surface (Input: your controller, to use its buttons). Start the engine with "
              "`dawbridge serve`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dawbridge install ableton`` (and ``dawbridge doctor ableton``)."""
    parser.add_argument("--user-library", metavar="DIR", default=None,
                        help="Live's User Library folder (Settings > Library > Location of User "
                             "Library); found automatically when omitted")
    parser.add_argument("--uninstall", action="store_true",
                        help="remove exactly the files a previous install added")


def run(args: argparse.Namespace, out=None) -> int:
    """Install, or uninstall with ``--uninstall``; ``args.action == "doctor"`` only reports.
    Returns the process exit status."""
    if getattr(args, "action", "install") == "doctor":
        return doctor(args, out)
    out = out or sys.stdout
    library = _library_or_say_why(args, out)
    if library is None:
        return 1
    target = script_folder(library)
    if args.uninstall:
        uninstall(target, out)
    else:
        install(target, out)
        print(NEXT_STEPS, file=out)
    return 0


def doctor(args: argparse.Namespace, out=None) -> int:
    """``dawbridge doctor ableton``: one line per check; 1 when something is missing."""
    out = out or sys.stdout
    library = _library_or_say_why(args, out)
    if library is None:
        return 1
    target = script_folder(library)
    stale = [path for path, digest in planned_files().items()
             if _digest(target / path) != digest]
    if not (target / MANIFEST).exists():
        print(f"MISSING  the DAWBridge Remote Script is not in {target}: run "
              "`dawbridge install ableton`", file=out)
        return 1
    if stale:
        print(f"OUTDATED {len(stale)} files of {target} differ from this DAWBridge: run "
              "`dawbridge install ableton` again", file=out)
        return 1
    print(f"OK       the DAWBridge Remote Script in {target} is up to date", file=out)
    print(f"NOTE     {NEXT_STEPS}", file=out)
    return 0


# --- finding the User Library --------------------------------------------------------------


def find_user_library(explicit: str | None = None, home: Path | None = None,
                      platform: str | None = None) -> Path | None:
    """The User Library folder, or None when there is none to be found."""
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_dir() else None
    home = home or Path.home()
    platform = platform or sys.platform
    for candidate in _configured_libraries(home, platform) + [_default_library(home, platform)]:
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


def _default_library(home: Path, platform: str) -> Path | None:
    if platform == "darwin":
        return home / "Music" / "Ableton" / "User Library"
    if platform.startswith("win"):
        return home / "Documents" / "Ableton" / "User Library"
    return None  # Live runs on macOS and Windows only


def _configured_libraries(home: Path, platform: str) -> list[Path]:
    """User Libraries named in Live's Library.cfg files, newest Live version first."""
    if platform == "darwin":
        preferences = home / "Library" / "Preferences" / "Ableton"
    elif platform.startswith("win"):
        preferences = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "Ableton"
    else:
        return []
    configs = list(preferences.glob("Live */Preferences/Library.cfg")) + \
        list(preferences.glob("Live */Library.cfg"))
    found = []
    for config in sorted(configs, key=_live_version, reverse=True):
        text = config.read_text(encoding="utf-8", errors="replace")
        block = re.search(r"<UserLibrary>(.*?)</UserLibrary>", text, re.S)
        path = re.search(r'<ProjectPath Value="([^"]+)"', block.group(1)) if block else None
        if path:  # the User Library itself, or the folder holding it
            found += [Path(path.group(1)) / "User Library", Path(path.group(1))]
    return found


def _live_version(config: Path) -> tuple[int, ...]:
    """(12, 0, 5) for ".../Live 12.0.5/...", so Live 12 sorts after Live 9."""
    folder = next(part for part in config.parts if part.startswith("Live "))
    return tuple(int(n) for n in re.findall(r"\d+", folder))


def script_folder(library: Path) -> Path:
    return library / "Remote Scripts" / SCRIPT_NAME


def _library_or_say_why(args: argparse.Namespace, out) -> Path | None:
    explicit = getattr(args, "user_library", None)
    library = find_user_library(explicit)
    if library is None:
        where = f"{explicit} is not a folder" if explicit else "Live's User Library was not found"
        print(f"MISSING  {where}. Start Live once, or pass --user-library (Live: Settings > "
              "Library > Location of User Library).", file=out)
    return library


# --- copying -------------------------------------------------------------------------------


def planned_files() -> dict[str, str]:
    """Every file an install writes, relative to the script folder, with its SHA-256."""
    return {rel: _digest(source) or "" for rel, source in _sources().items()}


def _sources() -> dict[str, Path]:
    files = {}
    for folder, prefix in SOURCES:
        for source in sorted(folder.glob("*.py")):
            files[f"{prefix}/{source.name}" if prefix else source.name] = source
    return files


def install(target: Path, out) -> None:
    """Copy the script and the vendored common package; record them in the manifest."""
    old = _read_manifest(target)
    written = 0
    files = {}
    for rel, source in _sources().items():
        destination = target / rel
        digest = _digest(source) or ""
        if _digest(destination) != digest:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            written += 1
        files[rel] = digest
    dropped = [rel for rel in old if rel not in files]
    for rel in dropped:
        _remove_file(target / rel)
    (target / MANIFEST).write_text(json.dumps({"files": files}, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    if written or dropped:
        print(f"installed the DAWBridge Remote Script in {target} ({written} files written, "
              f"{len(dropped)} removed)", file=out)
    else:
        print(f"the DAWBridge Remote Script in {target} is already up to date", file=out)


def uninstall(target: Path, out) -> None:
    """Remove the files the manifest lists, then the folders when nothing else is in them."""
    files = _read_manifest(target)
    if not (target / MANIFEST).exists():
        print(f"nothing to remove: no DAWBridge install in {target}", file=out)
        return
    for rel in files:
        _remove_file(target / rel)
    (target / MANIFEST).unlink()
    for folder in sorted({(target / rel).parent for rel in files}, key=lambda p: -len(p.parts)):
        _remove_if_empty(folder / "__pycache__")
        _remove_if_empty(folder)
    left = sorted(str(p.relative_to(target)) for p in target.rglob("*")) if target.exists() else []
    print(f"removed the DAWBridge Remote Script from {target}", file=out)
    if left:
        print(f"kept files DAWBridge did not add: {', '.join(left)}", file=out)


def _read_manifest(target: Path) -> dict[str, str]:
    try:
        files = json.loads((target / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(rel): str(digest) for rel, digest in files.items()
            if not Path(rel).is_absolute() and ".." not in Path(rel).parts}


def _remove_file(path: Path) -> None:
    """A file and the bytecode Live compiled from it."""
    path.unlink(missing_ok=True)
    for compiled in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
        compiled.unlink(missing_ok=True)
    path.with_suffix(".pyc").unlink(missing_ok=True)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or not there


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
