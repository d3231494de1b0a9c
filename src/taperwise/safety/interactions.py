"""Curated co-medications that interact with kratom through CYP3A4 (domain.md §6.3).

Kratom alkaloids inhibit CYP3A4 (mitragynine is a time-dependent CYP3A inhibitor in vitro), and a
single 2 g kratom tea raised midazolam AUC 1.39-fold (Tanna 2023). The list is deliberately
short: CYP3A4 substrates used in opioid-withdrawal care, each with its source. A protocol may
replace it (``safety.cyp3a4_interacting``); matching is case-insensitive on whole words, and brand
names listed here match too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Interaction:
    """One curated interacting co-medication."""

    name: str
    aliases: tuple[str, ...]
    why: str
    source: str


CYP3A4_INTERACTIONS: tuple[Interaction, ...] = (
    Interaction(
        "methadone",
        ("dolophine", "methadose"),
        "CYP3A4 substrate; QT prolongation and respiratory depression (boxed warnings)",
        "domain.md §6.3 [S]; US methadone labels, boxed warning on CYP450 interactions (domain.md §4.2 [C])",
    ),
    Interaction(
        "buprenorphine",
        ("subutex", "suboxone", "zubsolv", "sublocade", "buprenorphine-naloxone"),
        "CYP3A4 substrate used in OUD care",
        "domain.md §6.3 [S]",
    ),
    Interaction(
        "fentanyl",
        ("duragesic", "actiq"),
        "CYP3A4 substrate; respiratory depression",
        "domain.md §6.3 [S]",
    ),
    Interaction(
        "oxycodone",
        ("oxycontin", "percocet", "roxicodone"),
        "CYP3A4 substrate; US labels carry a boxed warning on CYP3A4 inhibitors",
        "US oxycodone prescribing information, boxed warning (CYP3A4 interaction)",
    ),
    Interaction(
        "hydrocodone",
        ("hysingla", "zohydro", "vicodin", "norco"),
        "CYP3A4 substrate; US labels carry a boxed warning on CYP3A4 inhibitors",
        "US hydrocodone ER prescribing information, boxed warning (CYP3A4 interaction)",
    ),
    Interaction(
        "midazolam",
        (),
        "CYP3A probe substrate: AUC GMR 1.39 (90% CI 1.23-1.57) after 2 g kratom tea",
        "Tanna RS et al., Clin Pharmacol Ther 2023 (domain.md §6.3 [C])",
    ),
    Interaction(
        "alprazolam",
        ("xanax",),
        "CYP3A4 substrate benzodiazepine; additive CNS/respiratory depression",
        "domain.md §6.3 [S]",
    ),
    Interaction(
        "triazolam",
        ("halcion",),
        "CYP3A4 substrate benzodiazepine; additive CNS/respiratory depression",
        "domain.md §6.3 (benzodiazepines) [S]",
    ),
    Interaction(
        "quetiapine",
        ("seroquel",),
        "CYP3A4 substrate antipsychotic",
        "domain.md §6.3 ('some antipsychotics') [S]",
    ),
)

#: Default names for ``SafetyParams.cyp3a4_interacting``.
DEFAULT_CYP3A4_INTERACTING: tuple[str, ...] = tuple(i.name for i in CYP3A4_INTERACTIONS)

_ALIASES: dict[str, str] = {
    alias: i.name for i in CYP3A4_INTERACTIONS for alias in (i.name, *i.aliases)
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", text.lower())) | set(
        re.findall(r"[a-z][a-z0-9]*", text.lower())
    )


def match_interacting(
    comedications: tuple[str, ...] | list[str], names: list[str] | tuple[str, ...]
) -> list[str]:
    """Names from ``names`` that appear (as a word, or through a curated brand name) in the list.

    Examples
    --------
    >>> match_interacting(("Methadone 60 mg daily", "paracetamol"), DEFAULT_CYP3A4_INTERACTING)
    ['methadone']
    >>> match_interacting(("Xanax 0.5 mg",), DEFAULT_CYP3A4_INTERACTING)
    ['alprazolam']
    """
    wanted = {n.strip().lower() for n in names if n.strip()}
    found: set[str] = set()
    phrases = {w for w in wanted if not re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", w)}
    for med in comedications:
        lowered = str(med).lower()
        found.update(p for p in phrases if p in lowered)
        for word in _words(lowered):
            if word in wanted:
                found.add(word)
            canonical = _ALIASES.get(word)
            if canonical is not None and canonical in wanted:
                found.add(canonical)
    return sorted(found)
