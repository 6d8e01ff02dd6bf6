"""The shared library of the Python running this installer, for REAPER to load: REAPER's
``pythonlibpath64`` (its folder) and ``pythonlibdll64`` (its file name).

A Python built without one (a static build, some Linux distributions' ``python3`` without
``libpython3.X.so``) has none; REAPER then needs a Python that has, chosen in its preferences.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


def _names() -> list[str]:
    """File names the library may have, most specific first."""
    version = sysconfig.get_config_var("VERSION") or f"{sys.version_info.major}.{sys.version_info.minor}"
    abiflags = getattr(sys, "abiflags", "") or ""
    if sys.platform == "win32":
        return [f"python{sys.version_info.major}{sys.version_info.minor}.dll"]
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    names = [sysconfig.get_config_var(var) or "" for var in ("INSTSONAME", "LDLIBRARY")]
    names += [f"libpython{version}{abiflags}{suffix}", f"libpython{version}{suffix}"]
    return [n for n in dict.fromkeys(names) if n and not n.endswith(".a")]


def _folders() -> list[Path]:
    folders = [sysconfig.get_config_var(var) for var in ("LIBDIR", "PYTHONFRAMEWORKPREFIX")]
    prefix = Path(sys.base_prefix)
    return [Path(f) for f in folders if f] + [prefix, prefix / "lib", prefix / "DLLs"]


def find() -> tuple[Path, str] | None:
    """``(folder, file name)`` of this Python's shared library, None when it has none."""
    for name in _names():
        for folder in _folders():
            path = folder / name
            if path.is_file():
                return path.parent, path.name
    return None
