"""Install the DAWBridge ReaScripts into REAPER, remove them, or report what is missing.

``dawbridge install reaper [--resource-path DIR] [--uninstall]`` and ``dawbridge doctor reaper``
call :func:`add_arguments` and :func:`run`. Installing:

1. finds REAPER's resource folder (``--resource-path``, e.g. a portable REAPER's folder; else
   ``~/Library/Application Support/REAPER``, ``%APPDATA%\\REAPER`` or ``~/.config/REAPER``);
2. copies ``daw_scripts/common`` and ``daw_scripts/reaper`` to ``Scripts/DAWBridge/``;
3. registers one action per script in ``reaper-kb.ini`` (stable command ids, so shortcuts and
   toolbar buttons survive a reinstall; installing twice changes nothing);
4. enables Python for ReaScript in ``reaper.ini`` when it is not: ``reascript=1`` and this
   Python's shared library (``pythonlibpath64``, ``pythonlibdll64``), edited in place
   (:mod:`installers.reaper_ini`), no backup files.

A manifest in ``Scripts/DAWBridge/`` records what was added, and the ``reaper.ini`` values the
install replaced; ``--uninstall`` removes exactly that and puts those values back (unless they
were changed since), and removes the ``reaper.ini`` backups that installs before this one made
with reapy. ``dawbridge doctor reaper`` (:func:`doctor`) reports what is missing. REAPER reads
these files at start-up: quit REAPER before installing, start it after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from daw_scripts.reaper.catalog import ACTIONS, SCRIPT_FOLDER, action_script
from installers import python_library, reaper_ini

REPO_SCRIPTS = Path(__file__).resolve().parent.parent / "daw_scripts"
PACKAGES = ("common", "reaper")
MANIFEST = "dawbridge-install.json"
KB_INI = "reaper-kb.ini"
REAPER_INI = "reaper.ini"
# What earlier installs left beside reaper.ini (reapy's config writer made them).
LEGACY_BACKUPS = ("reaper.ini.bak", "reaper.ini.before-reapy.bak")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dawbridge install reaper`` (and ``dawbridge doctor reaper``)."""
    parser.add_argument("--resource-path", metavar="DIR", default=None,
                        help="REAPER's resource folder (Options > Show REAPER resource path); "
                             "found automatically when omitted")
    parser.add_argument("--uninstall", action="store_true",
                        help="remove the scripts and actions a previous install added")


def run(args: argparse.Namespace, out=None) -> int:
    """Install, or uninstall with ``--uninstall``; ``args.action == "doctor"`` (set by
    ``dawbridge doctor reaper``) only reports. Returns the process exit status."""
    if getattr(args, "action", "install") == "doctor":
        return doctor(args, out)
    out = out or sys.stdout
    resource = _resource_or_say_why(args, out)
    if resource is None:
        return 1
    if args.uninstall:
        uninstall(resource, out)
    else:
        install(resource, out)
    return 0


def doctor(args: argparse.Namespace, out=None) -> int:
    """``dawbridge doctor reaper``: one line per check; 1 when something is missing."""
    out = out or sys.stdout
    resource = _resource_or_say_why(args, out)
    return 1 if resource is None or report(resource, out) else 0


def _resource_or_say_why(args: argparse.Namespace, out) -> Path | None:
    resource = find_resource_path(getattr(args, "resource_path", None))
    if resource is None:
        print("MISSING  REAPER's resource folder was not found. Start REAPER once, or pass "
              "--resource-path (REAPER: Options > Show REAPER resource path in explorer/finder).",
              file=out)
    return resource


# --- finding REAPER ----------------------------------------------------------------------


def find_resource_path(given: str | None) -> Path | None:
    """``given`` when set; else the default resource folder of this system, when REAPER has
    written its ``reaper.ini`` there."""
    if given:
        path = Path(given).expanduser()
        return path if path.is_dir() else None
    for folder in _default_folders():
        if (folder / REAPER_INI).is_file():
            return folder
    return None


def _default_folders() -> list[Path]:
    if sys.platform == "darwin":
        return [Path.home() / "Library" / "Application Support" / "REAPER"]
    if sys.platform == "win32":
        return [Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "REAPER"]
    return [Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "REAPER"]


# --- install / uninstall -----------------------------------------------------------------


def install(resource: Path, out) -> None:
    target = resource / "Scripts" / SCRIPT_FOLDER
    manifest = _read_manifest(target)
    files = _copy_scripts(target)
    lines = [action_line(script, name) for script, name, _ in ACTIONS]
    added = _add_kb_lines(resource / KB_INI, lines)
    replaced = None if python_enabled(resource) else _enable_python(resource, out)
    manifest["files"] = sorted(set(manifest.get("files", [])) | set(files))
    manifest["actions"] = sorted(set(manifest.get("actions", [])) | {command_id(s) for s, _, _ in ACTIONS})
    if replaced is not None:
        manifest["python_enabled_by_installer"] = True
        manifest["reaper_ini"] = {"before": replaced, "written": reaper_ini.read(resource / REAPER_INI)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"Copied {len(files)} files to {target}", file=out)
    print(f"Registered {added} new actions in {resource / KB_INI} ({len(lines) - added} already there)", file=out)
    if replaced is not None:
        print(f"Enabled Python for ReaScript in {resource / REAPER_INI}", file=out)
    print("Restart REAPER, then find the actions under 'DAWBridge:' in Actions > Show action list. "
          "Start the engine with `dawbridge serve`.", file=out)


def uninstall(resource: Path, out) -> None:
    target = resource / "Scripts" / SCRIPT_FOLDER
    manifest = _read_manifest(target)
    ids = set(manifest.get("actions", []))
    removed_lines = _remove_kb_lines(resource / KB_INI, ids)
    removed_files = 0
    for rel in manifest.get("files", []):
        path = target / rel
        if path.is_file():
            path.unlink()
            removed_files += 1
    (target / MANIFEST).unlink(missing_ok=True)
    for folder in sorted((p for p in target.rglob("*") if p.is_dir()), reverse=True):
        _remove_if_empty(folder)
    _remove_if_empty(target)
    _remove_if_empty(resource / "Scripts")
    kb = resource / KB_INI
    if kb.is_file() and not kb.read_bytes().strip():
        kb.unlink()  # only our actions were in it
    print(f"Removed {removed_files} files and {removed_lines} actions.", file=out)
    if manifest.get("python_enabled_by_installer"):
        _restore_python_setting(resource, manifest.get("reaper_ini"), out)


def _restore_python_setting(resource: Path, edit: dict | None, out) -> None:
    """Put back the reaper.ini values the install replaced, unless changed since; remove the
    backups earlier (reapy-based) installs left."""
    ini = resource / REAPER_INI
    if edit is None:  # an install made with reapy: its backups are all there is to remove
        for name in LEGACY_BACKUPS:
            (resource / name).unlink(missing_ok=True)
        print("Python for ReaScript stays enabled; turn it off in REAPER's Preferences > "
              "Plug-ins > ReaScript if you like.", file=out)
        return
    now = reaper_ini.read(ini)
    before, written = edit.get("before", {}), edit.get("written", {})
    if any(now.get(key.lower()) != written.get(key.lower()) for key in before):
        print(f"Python for ReaScript was changed in {ini} since the install; left as it is.", file=out)
        return
    reaper_ini.write(ini, before)
    print(f"Python for ReaScript restored in {ini} to how it was before the install.", file=out)


def _copy_scripts(target: Path) -> list[str]:
    copied = []
    for rel, content in _script_files():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        copied.append(rel)
    return copied


def _script_files() -> list[tuple[str, bytes]]:
    """``(path relative to Scripts/DAWBridge, content)`` for everything installed: the shared
    packages as they are, and one script per action written from the catalog."""
    files = []
    top = REPO_SCRIPTS / "__init__.py"
    if top.is_file():
        files.append(("daw_scripts/__init__.py", top.read_bytes()))
    for package in PACKAGES:
        for source in sorted((REPO_SCRIPTS / package).rglob("*.py")):
            if "__pycache__" not in source.parts:
                files.append((source.relative_to(REPO_SCRIPTS.parent).as_posix(), source.read_bytes()))
    for script, name, op in ACTIONS:
        files.append((f"daw_scripts/reaper/{script}", action_script(name, op).encode("utf-8")))
    return files


def _read_manifest(target: Path) -> dict:
    try:
        return json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remove_if_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


# --- reaper-kb.ini -----------------------------------------------------------------------


def command_id(script: str) -> str:
    """A stable ReaScript command id (``RS`` + 40 hex digits), the same on every install."""
    return "RS" + hashlib.sha1(("dawbridge/" + script).encode("utf-8")).hexdigest()


def action_line(script: str, name: str) -> str:
    """The ``SCR`` line REAPER keeps for a ReaScript in the main section (path relative to
    ``Scripts/``, as REAPER writes it for scripts there)."""
    path = f"{SCRIPT_FOLDER}/daw_scripts/reaper/{script}"
    return f'SCR 4 0 {command_id(script)} "Custom: {name}" "{path}"'


def _kb_lines(kb: Path) -> list[str]:
    return kb.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if kb.is_file() else []


def _write_kb(kb: Path, lines: list[str]) -> None:
    kb.write_text("".join(line + "\n" for line in lines), encoding="utf-8", errors="surrogateescape")


def _line_id(line: str) -> str | None:
    parts = line.split()
    return parts[3] if len(parts) > 3 and parts[0] == "SCR" else None


def _add_kb_lines(kb: Path, lines: list[str]) -> int:
    existing = _kb_lines(kb)
    present = {_line_id(line) for line in existing}
    new = [line for line in lines if _line_id(line) not in present]
    if new:
        _write_kb(kb, existing + new)
    return len(new)


def _remove_kb_lines(kb: Path, ids: set[str]) -> int:
    existing = _kb_lines(kb)
    kept = [line for line in existing if _line_id(line) not in ids]
    if len(kept) != len(existing):
        _write_kb(kb, kept)
    return len(existing) - len(kept)


# --- Python for ReaScript ----------------------------------------------------------------


def python_enabled(resource: Path) -> bool:
    """Python is on for ReaScript, and the library REAPER is told to load (if any) exists."""
    section = reaper_ini.read(resource / REAPER_INI)
    if section.get("reascript", "0").strip() != "1":
        return False
    folder, library = section.get("pythonlibpath64", ""), section.get("pythonlibdll64", "")
    return not library or Path(folder, library).exists() or Path(library).exists()


def _enable_python(resource: Path, out) -> dict[str, str | None] | None:
    """``reascript=1`` and this Python's shared library in ``reaper.ini``; the values replaced.
    None (with advice printed) when this Python has no shared library REAPER could load."""
    found = python_library.find()
    if found is None:
        print("This Python has no shared library for REAPER to load, so Python for ReaScript "
              "was not enabled. Install Python from python.org, then tick 'Enable Python for use "
              "with ReaScript' in REAPER's Preferences > Plug-ins > ReaScript.", file=out)
        return None
    folder, name = found
    return reaper_ini.write(resource / REAPER_INI, {
        "reascript": "1", "pythonlibpath64": str(folder), "pythonlibdll64": name})


# --- doctor --------------------------------------------------------------------------------


def report(resource: Path, out) -> list[str]:
    """Print one line per check; return the problems found."""
    problems = []
    target = resource / "Scripts" / SCRIPT_FOLDER

    def check(ok: bool, good: str, bad: str) -> None:
        print(("ok       " if ok else "MISSING  ") + (good if ok else bad), file=out)
        if not ok:
            problems.append(bad)

    check((resource / REAPER_INI).is_file(), f"REAPER resource folder: {resource}",
          f"no reaper.ini in {resource}: start REAPER once, or pass --resource-path")
    check(python_enabled(resource), "Python for ReaScript is enabled",
          "Python for ReaScript is off: run `dawbridge install reaper`, or tick it in "
          "Preferences > Plug-ins > ReaScript")
    stale = [rel for rel, content in _script_files()
             if not (target / rel).is_file() or (target / rel).read_bytes() != content]
    check(not stale, f"scripts installed in {target}",
          f"{len(stale)} script files missing or out of date in {target}: run `dawbridge install reaper`")
    present = {_line_id(line) for line in _kb_lines(resource / KB_INI)}
    missing = [name for script, name, _ in ACTIONS if command_id(script) not in present]
    check(not missing, f"{len(ACTIONS)} actions registered",
          "actions not registered: {}: run `dawbridge install reaper`".format(", ".join(missing)))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dawbridge install reaper", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
