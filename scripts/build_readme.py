"""Assemble README.md from docs/_head.md, the per-area fragments in docs/ and docs/_tail.md.

Run `python scripts/build_readme.py` after editing a fragment; `tests/test_readme.py` fails when
README.md is out of date, so the README stays true to the fragments.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: Order of the sections in the README (fragments that do not exist yet are skipped).
SECTIONS = [
    "instruments",
    "store",
    "protocol-safety",
    "randomize",
    "ctn0094",
    "mmrm",
    "meta",
    "signals",
    "analysis",
    "simulate",
    "web",
]


def build() -> str:
    parts = [(DOCS / "_head.md").read_text().rstrip()]
    for name in SECTIONS:
        fragment = DOCS / f"{name}.md"
        if fragment.exists():
            parts.append(fragment.read_text().rstrip())
    tail = DOCS / "_tail.md"
    if tail.exists():
        parts.append(tail.read_text().rstrip())
    return "\n\n".join(parts) + "\n"


def main() -> int:
    text = build()
    target = ROOT / "README.md"
    if "--check" in sys.argv:
        if target.read_text() != text:
            print("README.md is out of date: run python scripts/build_readme.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
