"""`taperwise protocol check FILE [--json]` and `taperwise protocol rules [--json]`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Validate study protocols (YAML) and list the safety rules they parameterise.",
        no_args_is_help=True,
    )

    @group.command("check")
    def check(
        file: str = typer.Argument(..., help="Protocol YAML file."),
        json_output: bool = typer.Option(
            False, "--json", help="Print the normalised protocol as JSON."
        ),
    ) -> None:
        """Validate FILE; errors name file:line and field. Prints a summary (or JSON)."""
        import sys

        from taperwise.errors import DefinitionError
        from taperwise.jsonout import emit
        from taperwise.protocol import load_protocol

        try:
            protocol = load_protocol(file)
        except DefinitionError as exc:
            problems = getattr(exc, "problems", None)
            if not problems or len(problems) < 2:
                raise
            # `check` lists every problem, one line each, not only the first
            sys.stderr.write("".join(f"{line}\n" for line in problems))
            raise typer.Exit(2) from None
        if json_output:
            emit(protocol.normalised())
            return
        _print_summary(protocol, file)

    @group.command("rules")
    def rules_cmd(
        json_output: bool = typer.Option(False, "--json", help="Print the rule catalogue as JSON."),
    ) -> None:
        """List the safety rules: id, severity, trigger and the protocol parameters they read."""
        from taperwise.jsonout import emit
        from taperwise.safety import RULE_CATALOGUE

        if json_output:
            emit({"rules": list(RULE_CATALOGUE)})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title="safety rules")
        for col in ("rule id", "severity", "trigger", "parameters (safety.*)", "fires when"):
            table.add_column(col)
        for r in RULE_CATALOGUE:
            table.add_row(r.rule_id, r.severity, r.trigger, ", ".join(r.parameters), r.description)
        Console().print(table)

    app.add_typer(group, name="protocol")


def _print_summary(protocol, file: str) -> None:  # noqa: ANN001 - Protocol, imported lazily
    from rich.console import Console
    from rich.table import Table

    # soft wrap: the prose lines stay whole when piped (no hard breaks at 80 columns inside a
    # path or a sentence); the tables are still laid out to the console width
    console = Console(soft_wrap=True)
    console.print(
        f"[bold]{file}[/bold]: valid protocol [bold]{protocol.id}[/bold] version {protocol.version}"
    )
    console.print(protocol.title)
    arms = Table(title="arms")
    for col in (
        "id",
        "label",
        "class",
        "unit",
        "route",
        "max single",
        "max daily",
        "per day",
        "plan days",
        "follow-up days",
    ):
        arms.add_column(col)
    ratio = protocol.randomisation.ratio
    for a in protocol.arms:
        r = a.regimen
        flags = [
            f
            for f, on in (
                ("kratom", a.is_kratom_product),
                ("magnesium", a.contains_magnesium),
                ("alpha-2", a.is_alpha2_agonist),
            )
            if on
        ]
        arms.add_row(
            a.id,
            a.blinded_label,
            a.drug_class + (f" ({', '.join(flags)})" if flags else ""),
            r.unit,
            r.route,
            f"{r.max_single_dose:g}",
            f"{r.max_daily_dose:g}",
            str(r.doses_per_day),
            str(len(r.schedule)),
            str(a.follow_up_days),
        )
    console.print(arms)
    for a in protocol.arms:
        console.print(f"{a.id}: {a.name}: {a.product}")
    s = protocol.schedule
    tps = ", ".join(f"{t.name} ({t.anchor} {t.offset_minutes:+d} min)" for t in s.timepoints)
    console.print(f"schedule: {', '.join(s.instruments)} over {s.days} days; timepoints: {tps}")
    rnd = protocol.randomisation
    strata = "; ".join(f"{k}: {', '.join(v)}" for k, v in rnd.strata.items()) or "none"
    console.print(
        f"randomisation: {rnd.method}, ratio {':'.join(str(ratio[a]) for a in protocol.arm_ids)} "
        f"({', '.join(protocol.arm_ids)}), blocks {rnd.block_sizes or '-'}, strata {strata}, "
        f"n per stratum {rnd.n_per_stratum or '-'}"
    )
    sap = protocol.sap
    console.print(
        f"SAP: primary {sap.primary_instrument} days {sap.primary_days[0]}-{sap.primary_days[-1]}, "
        f"control {sap.control_arm}, covariates {', '.join(sap.covariates) or 'none'}, covariance "
        f"{sap.covariance} (fallbacks {', '.join(sap.covariance_fallbacks) or 'none'}), sensitivity "
        f"{', '.join(sap.sensitivity) or 'none'}"
    )
    sp = protocol.safety
    console.print(
        f"safety: COWS > {sp.cows_severe_total} or rise >= {sp.cows_rise_24h} in {sp.cows_rise_window_hours:g} h; "
        f"buprenorphine COWS >= {sp.buprenorphine_min_cows} (>= {sp.buprenorphine_min_cows_after_methadone} after "
        f"methadone); alpha-2 hold SBP < {sp.alpha2_hold_sbp_below:g}, DBP < {sp.alpha2_hold_dbp_below:g}, "
        f"HR < {sp.alpha2_hold_hr_below:g}; daily dose window {sp.dose_daily_window}; AE grade >= {sp.ae_urgent_grade} urgent"
    )
