"""Collect benchmarks/RESULTS-*.md (one per area, written when its benchmark is run) into RESULTS.md."""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
ORDER = [
    "mmrm",
    "meta",
    "signals",
    "analysis",
    "simulate",
    "web",
    "randomize",
    "instruments",
    "protocol-safety",
]

HEADER = """# Benchmark results

Collected from the per-area files `benchmarks/RESULTS-<area>.md` by `scripts/build_results.py`.
Each section names its machine, the number of runs (medians of at least 5) and the ratio to the
peer named in its issue. Unless a section says otherwise the machine is the project's standard
2-core, 24 GB x86_64 build machine; several sections were measured while other jobs shared those
two cores, and say so: treat their absolute times as upper bounds.
"""


def main() -> None:
    files = {p.stem.removeprefix("RESULTS-"): p for p in BENCH.glob("RESULTS-*.md")}
    names = [n for n in ORDER if n in files] + sorted(set(files) - set(ORDER))
    parts = [HEADER.rstrip()]
    for name in names:
        text = files[name].read_text().strip()
        lines = text.splitlines()
        # shift the fragment's headings so its top level is "##" under this file's title
        levels = [len(line) - len(line.lstrip("#")) for line in lines if line.startswith("#")]
        shift = 2 - min(levels) if levels else 0
        parts.append(
            "\n".join(
                ("#" * shift + line) if line.startswith("#") and shift > 0 else line
                for line in lines
            )
        )
    (BENCH / "RESULTS.md").write_text("\n\n".join(parts) + "\n")
    print(f"wrote {BENCH / 'RESULTS.md'} from {len(names)} files")


if __name__ == "__main__":
    main()
