"""`taperwise simulate`: operating characteristics of a withdrawal trial by simulation."""

from __future__ import annotations

from pathlib import Path

import typer

from taperwise.errors import ValidationError


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        scenario: str | None = typer.Option(
            None,
            "--scenario",
            help="Built-in scenario (lofexidine-phase3, kmc-vs-buprenorphine-vs-placebo) or a "
            "scenario YAML file.",
        ),
        protocol: Path | None = typer.Option(
            None, "--protocol", help="Protocol YAML: arms, days and SAP from it, default model."
        ),
        n_per_arm: int | None = typer.Option(None, "--n-per-arm", help="Participants per arm."),
        reps: int = typer.Option(..., "--reps", help="Simulated trials."),
        seed: int = typer.Option(..., "--seed", help="Seed (same seed, same result everywhere)."),
        executor: str = typer.Option("serial", "--executor", help="serial|processes|dask"),
        address: str | None = typer.Option(
            None, "--address", help="Dask scheduler address (default: a LocalCluster)."
        ),
        workers: int = typer.Option(2, "--workers", help="Processes / Dask workers."),
        chunk_size: int = typer.Option(
            25, "--chunk-size", help="Trials per chunk (fixes the random streams)."
        ),
        analysis: str = typer.Option(
            "fast", "--analysis", help="fast (pattern-moment MMRM) | sap (run_primary)"
        ),
        effect: list[str] | None = typer.Option(
            None,
            "--effect",
            help="ARM=FRACTION: reduction of the withdrawal component for an arm (repeatable; "
            "e.g. KMC=0.2). The candidate has none unless given.",
        ),
        no_type1: bool = typer.Option(False, "--no-type1", help="Skip the null-scenario runs."),
        target_power: float | None = typer.Option(
            None, "--target-power", help="Sample-size search: smallest n per arm with this power."
        ),
        endpoint: str | None = typer.Option(
            None, "--endpoint", help="Endpoint of the search, e.g. LFX288_vs_PBO."
        ),
        n_min: int = typer.Option(10, "--n-min", help="Search range, lower end."),
        n_max: int = typer.Option(400, "--n-max", help="Search range, upper end."),
        step: int = typer.Option(5, "--step", help="Search resolution (participants)."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    ) -> None:
        """Simulate trials and report completion, scores, power, type I error, bias, coverage."""
        from rich.progress import Progress

        from taperwise.commands._common import console, parse_key_values
        from taperwise.jsonout import emit
        from taperwise.simulate import load_scenario, scenario_for_protocol_file
        from taperwise.simulate.operating import operating_characteristics
        from taperwise.simulate.samplesize import sample_size_search

        if (scenario is None) == (protocol is None):
            raise ValidationError("give exactly one of --scenario NAME and --protocol FILE")
        effects = {}
        for arm, value in parse_key_values(effect, what="--effect").items():
            try:
                effects[arm] = float(value)
            except ValueError:
                raise ValidationError(
                    f"--effect {arm}={value}: the effect is a number (fractional reduction)"
                ) from None
        if protocol is not None:
            sc = scenario_for_protocol_file(protocol, n_per_arm=n_per_arm, effects=effects)
        else:
            sc = load_scenario(scenario).with_n(n_per_arm)
            for arm, value in effects.items():
                sc = sc.with_arm(arm, effect=value, dose=None)
        sc = sc.validate()
        run = dict(
            executor=executor,
            workers=workers,
            address=address,
            chunk_size=chunk_size,
            analysis=analysis,
        )
        with Progress(console=console, transient=True, disable=json_output) as bar:
            if target_power is not None:
                task = bar.add_task("sample-size search", total=None)
                out = sample_size_search(
                    sc,
                    target=target_power,
                    endpoint=endpoint,
                    reps=reps,
                    seed=seed,
                    n_min=n_min,
                    n_max=n_max,
                    step=step,
                    progress=lambda done, _t: bar.update(task, completed=done),
                    **run,
                )
                out["settings"] = {"scenario": sc.name, **run, "seed": seed}
            else:
                task = bar.add_task("simulating trials", total=reps)
                oc = operating_characteristics(
                    sc,
                    reps=reps,
                    seed=seed,
                    type1=not no_type1,
                    progress=lambda done, total: bar.update(task, completed=done),
                    **run,
                )
                out = oc.to_dict()
        if json_output:
            emit(out)
            return
        if target_power is not None:
            n = out["n_per_arm"]
            console.print(
                f"{out['endpoint']}: "
                + (
                    f"n = {n} per arm gives power {out['power']['estimate']:.3f} "
                    f"(MCSE {out['power']['mcse']:.3f}; target {target_power})"
                    if n is not None
                    else f"power {target_power} not reached with n <= {n_max} per arm"
                )
            )
            return
        console.print(f"scenario {sc.name}: {reps} simulated trials (seed {seed}, {executor})")
        for a in out["arms"]:
            console.print(
                f"  {a['arm']:>8}  n {a['n']:>4}  completion {a['completion']:.3f}  "
                f"mean days 1-7 {a['mean_score_days_1_7']:.2f}  day 3 {a['day3_mean']:.2f}"
            )
        for name, p in out["power"].items():
            t1 = (out["type1_error"] or {}).get(name)
            console.print(
                f"  {name}: power {p['estimate']:.3f} (MCSE {p['mcse']:.3f})"
                + (f", type I error {t1['estimate']:.3f}" if t1 else "")
                + f", bias {out['bias'][name]['estimate']:+.3f}, "
                f"coverage {out['coverage'][name]['estimate']:.3f}"
            )
