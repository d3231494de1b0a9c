"""`taperwise randomize list|minimise`: allocation lists and Pocock-Simon minimisation.

The sub-app :data:`randomize_app` is exposed so that store-backed commands (revealing the next
assignment for an enrolled participant) can be added to the same ``randomize`` group.
"""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from taperwise.commands._common import console, parse_key_values
from taperwise.errors import DataFileError, ValidationError

randomize_app = typer.Typer(
    name="randomize",
    help="Generate seeded allocation lists (permuted blocks, strata) and run minimisation.",
    no_args_is_help=True,
)


def _split(text: str, *, what: str, sep: str = ",") -> list[str]:
    parts = [p.strip() for p in text.split(sep)]
    if not text.strip() or any(not p for p in parts):
        raise ValidationError(
            f"{what}: '{text}' has an empty item; give values separated by '{sep}'"
        )
    return parts


def _ints(text: str, *, what: str, sep: str, example: str) -> list[int]:
    out = []
    for part in _split(text, what=what, sep=sep):
        try:
            out.append(int(part))
        except ValueError:
            raise ValidationError(f"{what}: '{part}' is not an integer; e.g. {example}") from None
    return out


def _factors(pairs: list[str] | None, *, what: str) -> dict[str, list[str]]:
    raw = parse_key_values(pairs, what=what)
    if len(raw) != len(pairs or []):
        raise ValidationError(f"{what}: a factor is given twice")
    return {k: _split(v, what=f"{what} '{k}'") for k, v in raw.items()}


@randomize_app.command("list")
def list_command(
    arms: str = typer.Option(..., "--arms", help="Arm labels, comma-separated, e.g. KMC,BUP,PBO."),
    ratio: str | None = typer.Option(
        None, "--ratio", help="Allocation ratio, e.g. 1:1:1 or 2:2:1 (default equal)."
    ),
    block_sizes: str = typer.Option(
        ...,
        "--block-sizes",
        help="Allowed block sizes, comma-separated; multiples of the ratio sum.",
    ),
    strata: list[str] | None = typer.Option(
        None, "--strata", help="Stratification factor FACTOR=LEVEL1,LEVEL2 (repeat)."
    ),
    n: int = typer.Option(
        ..., "--n", help="Entries per stratum (whole blocks, so a few more may be made)."
    ),
    seed: int = typer.Option(..., "--seed", help="Seed (recorded in the report)."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the list as CSV; its SHA-256 is in the report."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Generate a seeded, stratified permuted-block allocation list with random block sizes."""
    from taperwise.jsonout import emit
    from taperwise.randomize import generate_block_list

    arm_list = _split(arms, what="arms")
    ratio_list = _ints(ratio, what="ratio", sep=":", example="1:1:1") if ratio else None
    sizes = _ints(block_sizes, what="block sizes", sep=",", example="3,6")
    lst = generate_block_list(
        arms=arm_list,
        ratio=ratio_list,
        block_sizes=sizes,
        strata=_factors(strata, what="strata"),
        n_per_stratum=n,
        seed=seed,
    )
    text = lst.to_csv()
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise DataFileError(f"{out}: cannot write ({exc.strerror})") from None
    if json_output:
        emit({"seed": lst.seed, "entries": lst.entries, "report": lst.report, "out": out})
        return
    report = lst.report
    summary = (
        f"{report['n_entries']} entries in {report['n_strata']} strata; block sizes used "
        f"{report['block_size_use']}; max imbalance {report['max_imbalance']:g}; seed {lst.seed}; "
        f"sha256 {lst.sha256}"
    )
    if out is None:
        typer.echo(text, nl=False)
        console.print(summary)
    else:
        typer.echo(f"wrote {out}: {summary}")


def _read_participants(
    path: Path, factors: dict[str, list[str]], arm_labels: list[str]
) -> tuple[list[str], list[dict[str, str]], list[str | None]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        id_col = next((c for c in ("participant", "id") if c in columns), None)
        if id_col is None:
            raise DataFileError(
                f"{path}:1: need a 'participant' (or 'id') column; got {', '.join(columns) or 'none'}"
            )
        missing = [f for f in factors if f not in columns]
        if missing:
            raise DataFileError(
                f"{path}:1: factor column(s) {', '.join(missing)} missing; got {', '.join(columns)}"
            )
        ids: list[str] = []
        levels: list[dict[str, str]] = []
        arms: list[str | None] = []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            if not row.get(id_col):
                raise DataFileError(f"{path}:{line}: empty {id_col}")
            arm = row.get("arm") or None
            if arm is not None and arms and arms[-1] is None:
                raise DataFileError(
                    f"{path}:{line}: participant {row[id_col]} has an arm after unallocated rows; "
                    "earlier allocations (rows with an arm) must come first"
                )
            if arm is not None and arm not in arm_labels:
                raise DataFileError(
                    f"{path}:{line}: arm '{arm}' unknown; allowed {', '.join(arm_labels)}"
                )
            for name, allowed in factors.items():
                if row[name] not in allowed:
                    raise DataFileError(
                        f"{path}:{line}: {name} '{row[name]}' not allowed; allowed {', '.join(allowed)}"
                    )
            ids.append(row[id_col])
            levels.append({f: row[f] for f in factors})
            arms.append(arm)
    return ids, levels, arms


@randomize_app.command("minimise")
def minimise_command(
    arms: str = typer.Option(..., "--arms", help="Arm labels, comma-separated."),
    factor: list[str] = typer.Option(
        ..., "--factor", "--factors", help="Prognostic factor FACTOR=LEVEL1,LEVEL2 (repeat)."
    ),
    participants: Path = typer.Option(
        ...,
        "--participants",
        help="CSV: participant, one column per factor, optional arm (earlier allocations first).",
    ),
    seed: int = typer.Option(..., "--seed", help="Seed of the per-participant uniform draws."),
    ratio: str | None = typer.Option(
        None, "--ratio", help="Allocation ratio, e.g. 2:1:1 (default equal)."
    ),
    weight: list[str] | None = typer.Option(
        None, "--weight", help="Factor weight FACTOR=W (repeat; default 1)."
    ),
    method: str = typer.Option(
        "range", "--method", help="Imbalance measure: range, sd or variance (n-1)."
    ),
    p_best: float = typer.Option(
        0.8, "--p-best", help="Probability shared by the arms of least imbalance (0 < p <= 1)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the new allocations as CSV."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Allocate the participants of a CSV by Pocock-Simon minimisation (rows with an arm are history)."""
    from taperwise.jsonout import emit
    from taperwise.randomize import Minimiser

    factors = _factors(factor, what="factor")
    weights: dict[str, float] = {}
    for key, value in parse_key_values(weight, what="weight").items():
        try:
            weights[key] = float(value)
        except ValueError:
            raise ValidationError(f"weight '{key}={value}' is not a number") from None
    arm_list = _split(arms, what="arms")
    minimiser = Minimiser(
        arms=arm_list,
        factors=factors,
        ratio=_ints(ratio, what="ratio", sep=":", example="2:1:1") if ratio else None,
        weights=weights or None,
        method=method,
        p_best=p_best,
        seed=seed,
    )
    ids, levels, given = _read_participants(participants, factors, arm_list)
    n_history = sum(a is not None for a in given)
    history = [(lv, a) for lv, a in zip(levels, given, strict=True) if a is not None]
    results = minimiser.assign_sequence(levels[n_history:], history)
    rows = []
    for pid, res in zip(ids[n_history:], results, strict=True):
        rows.append(
            {
                "participant": pid,
                "position": res.position,
                "levels": res.levels,
                "counts": res.counts,
                "scores": res.scores,
                "probabilities": res.probabilities,
                "preferred": list(res.preferred),
                "draw": res.draw,
                "arm": res.arm,
            }
        )
    if out is not None:
        arm_names = list(minimiser.arms)
        header = ["participant", "position", "arm", "draw"]
        header += [f"G_{a}" for a in arm_names] + [f"P_{a}" for a in arm_names]
        lines = [",".join(header)]
        for r in rows:
            values = [r["participant"], r["position"], r["arm"], repr(r["draw"])]
            values += [repr(r["scores"][a]) for a in arm_names]
            values += [repr(r["probabilities"][a]) for a in arm_names]
            lines.append(",".join(str(v) for v in values))
        try:
            out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as exc:
            raise DataFileError(f"{out}: cannot write ({exc.strerror})") from None
    provenance = results[0].provenance if results else {}
    if json_output:
        emit(
            {
                "seed": seed,
                "n_history": n_history,
                "assignments": rows,
                "provenance": provenance,
                "out": out,
            }
        )
        return
    for r in rows:
        scores = ", ".join(f"{a} {g:.6g}" for a, g in r["scores"].items())
        typer.echo(f"{r['participant']}: {r['arm']} (G: {scores}; draw {r['draw']:.4f})")


def register(app: typer.Typer) -> None:
    """Add the ``randomize`` group to the root app."""
    app.add_typer(randomize_app, name="randomize")
