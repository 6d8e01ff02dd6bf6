"""Install the DAWBridge ReaScripts into REAPER, remove them, or report what is missing.

``dawbridge install reaper [--resource-path DIR] [--uninstall]`` and ``dawbridge doctor reaper``
call :func:`add_arguments` and :func:`run`. Installing:

1. finds REAPER's resource folder (``--resource-path``; else a running portable REAPER; else
   ``~/Library/Application Support/REAPER``, ``%APPDATA%\\REAPER`` or ``~/.config/REAPER``);
2. copies ``daw_scripts/common`` and ``daw_scripts/reaper`` to ``Scripts/DAWBridge/``;
3. registers one action per script in ``reaper-kb.ini`` (stable command ids, so shortcuts and
   toolbar buttons survive a reinstall; installing twice changes nothing);
4. enables Python for ReaScript in ``reaper.ini`` when it is not, with reapy's configuration
   helper (``reapy.config.enable_python``), which also points REAPER at this Python's library.

A manifest in ``Scripts/DAWBridge/`` records what was added; ``--uninstall`` removes exactly
that. ``dawbridge doctor reaper`` (:func:`doctor`) reports what is missing. REAPER reads these files at start-up: quit REAPER before installing, start it after.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import sys
import warnings
from pathlib import Path

from daw_scripts.reaper.catalog import ACTIONS, SCRIPT_FOLDER, action_script

REPO_SCRIPTS = Path(__file__).resolve().parent.parent / "daw_scripts"
PACKAGES = ("common", "reaper")
MANIFEST = "dawbridge-install.json"
KB_INI = "reaper-kb.ini"
REAPER_INI = "reaper.ini"


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
    """``given`` when set; else a running (portable) REAPER's folder; else the default one."""
    if given:
        path = Path(given).expanduser()
        return path if path.is_dir() else None
    reapy_paths = _reapy("resource_path")
    try:
        found = reapy_paths.get_resource_path(detect_portable_install=True)
    except RuntimeError:  # no REAPER running, or several
        found = reapy_paths.get_resource_path(detect_portable_install=False)
    return Path(found) if found else None


def _reapy(module: str):
    """A ``reapy.config`` submodule, imported quietly (reapy warns when REAPER is not running)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import importlib

        return importlib.import_module("reapy.config." + module)


# --- install / uninstall -----------------------------------------------------------------


def install(resource: Path, out) -> None:
    target = resource / "Scripts" / SCRIPT_FOLDER
    manifest = _read_manifest(target)
    files = _copy_scripts(target)
    lines = [action_line(script, name) for script, name, _ in ACTIONS]
    added = _add_kb_lines(resource / KB_INI, lines)
    enabled = python_enabled(resource)
    enabled_now = False if enabled else _enable_python(resource, out)
    manifest["files"] = sorted(set(manifest.get("files", [])) | set(files))
    manifest["actions"] = sorted(set(manifest.get("actions", [])) | {command_id(s) for s, _, _ in ACTIONS})
    manifest["python_enabled_by_installer"] = bool(manifest.get("python_enabled_by_installer") or enabled_now)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"Copied {len(files)} files to {target}", file=out)
    print(f"Registered {added} new actions in {resource / KB_INI} ({len(lines) - added} already there)", file=out)
    if enabled_now:
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
    print(f"Removed {removed_files} files and {removed_lines} actions.", file=out)
    if manifest.get("python_enabled_by_installer"):
        print("Python for ReaScript stays enabled (other scripts may use it); turn it off in "
              "REAPER's Preferences > Plug-ins > ReaScript if you like.", file=out)


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


def _reaper_section(resource: Path) -> dict[str, str]:
    """The ``[reaper]`` section of ``reaper.ini``, read only."""
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str.lower  # type: ignore[assignment,method-assign]
    try:
        parser.read(resource / REAPER_INI, encoding="utf-8")
    except configparser.Error:
        return {}
    return dict(parser["reaper"]) if parser.has_section("reaper") else {}


def python_enabled(resource: Path) -> bool:
    """Python is on for ReaScript, and the library REAPER is told to load (if any) exists."""
    section = _reaper_section(resource)
    if section.get("reascript", "0").strip() != "1":
        return False
    folder, library = section.get("pythonlibpath64", ""), section.get("pythonlibdll64", "")
    return not library or Path(folder, library).exists() or Path(library).exists()


def _enable_python(resource: Path, out) -> bool:
    """reapy's helper: ``reascript=1`` and this Python's shared library in ``reaper.ini``.
    False (with advice printed) when this Python has no shared library REAPER could load."""
    try:
        _reapy("shared_library").get_python_shared_library()
    except FileNotFoundError:
        print("This Python has no shared library for REAPER to load, so Python for ReaScript "
              "was not enabled. Install Python from python.org, then tick 'Enable Python for use "
              "with ReaScript' in REAPER's Preferences > Plug-ins > ReaScript.", file=out)
        return False
    ini = resource / REAPER_INI
    text = ini.read_text(encoding="utf-8", errors="replace") if ini.is_file() else ""
    if "[reaper]" not in text.lower():  # the helper edits an existing [reaper] section
        with ini.open("a", encoding="utf-8") as f:
            f.write(("\n" if text and not text.endswith("\n") else "") + "[reaper]\n")
    _reapy("config").enable_python(str(resource))
    return True


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
