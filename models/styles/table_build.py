"""The command line shared by the small derived tables that ship beside the weights
(humanize.json, drum_styles.json, melody_styles.json): each is rebuilt from the training split
with ``python -m models.<module> --build [--out PATH]``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def main(argv: list[str] | None, module: str, doc: str, default: Path, build: Callable[[Path], str]) -> int:
    """Parse ``--build``/``--out``; ``build(out)`` writes the table and says what it wrote."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="rebuild from the training split and write the table")
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args(argv)
    if not args.build:
        parser.error("nothing to do: pass --build")
    print(f"{args.out}: {build(args.out)}")
    return 0
