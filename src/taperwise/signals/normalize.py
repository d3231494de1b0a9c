"""Product-name normalisation: folding, a user synonyms file and bundled product groups.

Folding upper-cases a name, turns every run of characters other than A-Z and 0-9 into one space
and strips the ends (``"Kratom  (Red Bali)"`` -> ``"KRATOM RED BALI"``). A folded name is then
mapped to a group by, in order: the user's synonyms (exact folded names), the bundled groups'
exact names, and the groups' ``contains`` patterns (a folded name containing ``KRATOM`` is a
kratom product, whatever the brand). Unmapped names stay as their folded form.

Synonyms file (YAML)::

    groups:
      KRATOM:
        names: [red bali, maeng da]
        contains: [KRATOM]
      LOPERAMIDE: {names: [imodium, imodium a-d]}

or CSV with a header ``name,group`` (one variant per line).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from taperwise.errors import DataFileError

__all__ = ["BUNDLED_GROUPS", "ProductNormalizer", "fold_name"]

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")

#: Bundled groups: kratom (Mitragyna speciosa and its alkaloids, incl. the study product
#: "kratom magnesium citrate") and magnesium citrate (an osmotic laxative; DESIGN.md §4).
BUNDLED_GROUPS: dict[str, dict[str, list[str]]] = {
    "KRATOM": {
        "names": [
            "kratom",
            "mitragyna speciosa",
            "mitragyna speciosa leaf",
            "mitragyna speciosa whole",
            "mitragyna speciosa korth",
            "ketum",
            "kratum",
            "kakuam",
            "thang",
            "thom",
            "biak",
            "mitragynine",
            "7-hydroxymitragynine",
            "7 hydroxymitragynine",
            "7-oh-mitragynine",
            "kratom magnesium citrate",
            "kratom (mitragyna speciosa)",
        ],
        "contains": ["KRATOM", "MITRAGYN", "KETUM", "KRATUM"],
    },
    "MAGNESIUM CITRATE": {
        "names": [
            "magnesium citrate",
            "magnesium citrate anhydrous",
            "citrate of magnesia",
            "citroma",
            "trimagnesium dicitrate",
        ],
        "contains": [],
    },
}


def fold_name(name: object) -> str:
    """Fold case, spaces and punctuation.

    Examples
    --------
    >>> fold_name("  Kratom (Mitragyna  speciosa)! ")
    'KRATOM MITRAGYNA SPECIOSA'
    """
    if name is None:
        return ""
    text = str(name).upper()
    return _NON_ALNUM.sub(" ", text).strip()


@dataclass
class ProductNormalizer:
    """Map verbatim product names to groups.

    Examples
    --------
    >>> norm = ProductNormalizer.default()
    >>> norm("Red Bali KRATOM powder"), norm("Mitragynine"), norm("Citrate of Magnesia")
    ('KRATOM', 'KRATOM', 'MAGNESIUM CITRATE')
    >>> norm("Tylenol  Extra-Strength")
    'TYLENOL EXTRA STRENGTH'
    """

    exact: dict[str, str] = field(default_factory=dict)
    contains: list[tuple[str, str]] = field(default_factory=list)
    user_exact: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls, synonyms: str | Path | None = None) -> ProductNormalizer:
        """Bundled groups, plus the user's synonyms file when given (it takes precedence)."""
        norm = cls()
        norm.add_groups(BUNDLED_GROUPS)
        if synonyms is not None:
            norm.load(synonyms)
        return norm

    def add_groups(
        self, groups: Mapping[str, Mapping[str, Iterable[str]]], *, user: bool = False
    ) -> None:
        """Add groups ``{GROUP: {"names": [...], "contains": [...]}}``."""
        target = self.user_exact if user else self.exact
        for group, spec in groups.items():
            canonical = fold_name(group)
            target[canonical] = canonical
            for variant in spec.get("names", []) or []:
                target[fold_name(variant)] = canonical
            patterns = [(fold_name(p), canonical) for p in spec.get("contains", []) or []]
            # the user's patterns are tried before the bundled ones
            self.contains = patterns + self.contains if user else self.contains + patterns

    def load(self, path: str | Path) -> None:
        """Load a synonyms file (YAML ``groups:`` mapping or CSV ``name,group``)."""
        path = Path(path)
        if not path.exists():
            raise DataFileError(f"{path}: synonyms file not found")
        if path.suffix.lower() in (".yaml", ".yml"):
            self._load_yaml(path)
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            self._load_csv(path)
        else:
            raise DataFileError(f"{path}: synonyms file must be .yaml/.yml or .csv")

    def _load_yaml(self, path: Path) -> None:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise DataFileError(
                f"{path}{line}: invalid YAML ({getattr(exc, 'problem', exc)})"
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("groups"), dict):
            raise DataFileError(
                f"{path}: expected a top-level 'groups:' mapping of GROUP -> {{names, contains}}"
            )
        groups: dict[str, dict[str, list[str]]] = {}
        for group, spec in data["groups"].items():
            if isinstance(spec, list):
                spec = {"names": spec}
            if not isinstance(spec, dict) or set(spec) - {"names", "contains"}:
                raise DataFileError(
                    f"{path}: group '{group}' must be a list of names or have keys names, contains"
                )
            for key in ("names", "contains"):
                values = spec.get(key, []) or []
                if not isinstance(values, list) or not all(
                    isinstance(v, (str, int)) for v in values
                ):
                    raise DataFileError(f"{path}: group '{group}' {key} must be a list of strings")
            groups[str(group)] = {
                k: [str(v) for v in (spec.get(k) or [])] for k in ("names", "contains")
            }
        self.add_groups(groups, user=True)

    def _load_csv(self, path: Path) -> None:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:2]] != ["name", "group"]:
                raise DataFileError(f"{path}:1: header must be 'name,group'")
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    raise DataFileError(
                        f"{path}:{lineno}: expected 'name,group' with both fields; got {row}"
                    )
                self.user_exact[fold_name(row[0])] = fold_name(row[1])

    def __call__(self, name: object) -> str:
        folded = fold_name(name)
        if not folded:
            return ""
        if folded in self.user_exact:
            return self.user_exact[folded]
        if folded in self.exact:
            return self.exact[folded]
        for pattern, group in self.contains:
            if pattern and pattern in folded:
                return group
        return folded

    def map_names(self, names: Iterable[object]) -> dict[str, str]:
        """Normalise many (distinct) names at once: ``{raw: group}``."""
        return {str(n): self(n) for n in names if n is not None}
