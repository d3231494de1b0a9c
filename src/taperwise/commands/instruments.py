"""`taperwise score` and `taperwise instruments list|show|export`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_command(
        instrument: str = typer.Argument(..., help="Instrument id, e.g. cows, sows, oows."),
        item: list[str] = typer.Option(
            None, "--item", "-i", help="Item score as KEY=SCORE; repeat for each item."
        ),
        pulse_bpm: float | None = typer.Option(
            None, "--pulse-bpm", help="COWS: measured resting pulse; scores item 'pulse'."
        ),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Score one administration: total (complete forms only), band, subtotal without GI items."""
        from taperwise.commands._common import parse_key_values
        from taperwise.instruments import get_instrument, score
        from taperwise.jsonout import emit

        inst = get_instrument(instrument)
        items = parse_key_values(item, what="--item")
        result = score(inst, items, pulse_bpm=pulse_bpm)
        if json_output:
            emit(result.to_dict())
            return
        if result.complete:
            band = result.band or "no band"
            typer.echo(f"{inst.short_name} {inst.version}: total {result.total} ({band})")
        else:
            typer.echo(
                f"{inst.short_name} {inst.version}: incomplete ({len(result.missing)} of "
                f"{len(inst.items)} items missing: {', '.join(result.missing)}); "
                f"partial sum {result.partial_sum} is a lower bound, not a total"
            )
        no_gi = result.subtotals.get("no_gi")
        if inst.gi_item_keys:
            shown = "n/a" if no_gi is None else str(no_gi)
            typer.echo(f"subtotal without GI items ({', '.join(inst.gi_item_keys)}): {shown}")

    group = typer.Typer(help="List, show and export instrument definitions.", no_args_is_help=True)
    app.add_typer(group, name="instruments")

    @group.command("list")
    def list_command(
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """List the known instruments."""
        from taperwise.instruments import list_instruments
        from taperwise.jsonout import emit

        rows = [
            {
                "id": inst.id,
                "version": inst.version,
                "title": inst.title,
                "items": len(inst.items),
                "max_total": inst.max_total,
                "gi_items": list(inst.gi_item_keys),
                "bands": [band.label for band in inst.bands],
            }
            for inst in list_instruments()
        ]
        if json_output:
            emit({"instruments": rows})
            return
        for row in rows:
            gi = ", ".join(row["gi_items"]) or "-"
            bands = ", ".join(row["bands"]) or "-"
            typer.echo(
                f"{row['id']:<16} {row['version']:<8} 0-{row['max_total']:<3} {row['items']:>2} items  "
                f"{row['title']}  [GI: {gi}; bands: {bands}]"
            )

    @group.command("show")
    def show_command(
        instrument: str = typer.Argument(..., help="Instrument id."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Show an instrument: items, allowed scores, anchors, GI items, bands, source, licence."""
        from taperwise.instruments import get_instrument
        from taperwise.jsonout import emit

        inst = get_instrument(instrument)
        if json_output:
            emit(inst.summary())
            return
        typer.echo(f"{inst.title} ({inst.id} {inst.version}); total 0-{inst.max_total}")
        typer.echo(f"Source: {inst.citation}")
        typer.echo(f"Licence: {inst.licence} [anchor text: {inst.anchor_text}]")
        if inst.instruction:
            typer.echo(f"Instruction: {inst.instruction}")
        for number, item in enumerate(inst.items, start=1):
            gi = " [GI]" if item.gi else ""
            typer.echo(f"{number:>2}. {item.key}: {item.label}{gi}")
            for value in item.allowed:
                anchor = item.anchor(value)
                typer.echo(f"      {value}" + (f" = {anchor}" if anchor else ""))
        if inst.bands:
            bands = "; ".join(
                f"{b.min}-{b.max if b.max is not None else inst.max_total} {b.label}"
                for b in inst.bands
            )
            typer.echo(f"Bands ({inst.bands_source}): {bands}; below {inst.bands[0].min}: no band")
        else:
            typer.echo(f"Bands: none ({inst.bands_source})")

    @group.command("export")
    def export_command(
        instrument: str = typer.Argument(..., help="Instrument id."),
        format: str = typer.Option(
            ...,
            "--format",
            "-f",
            help="fhir (R4 Questionnaire JSON) or redcap (data dictionary CSV).",
        ),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Write to FILE instead of stdout."
        ),
        base_url: str = typer.Option(
            "https://taperwise.org/fhir", "--base-url", help="FHIR: base of the canonical URLs."
        ),
    ) -> None:
        """Export an instrument as a FHIR R4 Questionnaire or a REDCap data dictionary."""
        from taperwise.errors import ValidationError
        from taperwise.instruments import get_instrument

        inst = get_instrument(instrument)
        fmt = format.strip().lower()
        if fmt == "fhir":
            from taperwise.instruments.fhir import questionnaire
            from taperwise.jsonout import dumps

            text = dumps(questionnaire(inst, base_url=base_url)) + "\n"
        elif fmt == "redcap":
            from taperwise.instruments.redcap import data_dictionary_csv

            text = data_dictionary_csv(inst)
        else:
            raise ValidationError(f"--format '{format}' is not allowed; allowed: fhir, redcap")
        if out is None:
            typer.echo(text, nl=False)
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"--out {out}: cannot write: {exc.strerror}") from None
        typer.echo(f"wrote {out}", err=True)
