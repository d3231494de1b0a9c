"""Study operations: `study init`, `enroll`, `assess`, `dose`, `vitals`, `ae`, `alerts`, `exit`,
`edit`, `delete`, `export`, `audit verify|history`.

Each command is one transaction: on any error nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from taperwise.commands._store import (
    DB_OPTION,
    JSON_OPTION,
    ROLE_OPTION,
    STUDY_OPTION,
    USER_OPTION,
    actor,
    alert_dicts,
    open_engine,
    parse_date,
    parse_int_items,
    parse_time,
    print_alerts,
    record_and_report,
)

study_app = typer.Typer(help="Create and inspect studies.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Audit log: verify the hash chain, show a record's history.", no_args_is_help=True
)


@study_app.command("init")
def study_init(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol YAML file."),
    db: str = DB_OPTION,
    study: str = typer.Option(None, "--study", help="Study id (default: the protocol id)."),
    seed: int = typer.Option(
        None,
        "--seed",
        help="Seed of the allocation list (default: protocol's, else derived from the study id).",
    ),
    user: str = USER_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Create a study from a protocol: sites, concealed allocation list, audit entry."""
    from taperwise.jsonout import emit
    from taperwise.store.engine import transaction
    from taperwise.store.studies import create_study, read_protocol_file

    text, source = read_protocol_file(protocol)
    engine = open_engine(db)
    with transaction(engine) as session:
        created = create_study(
            session,
            actor(user, "admin"),
            protocol_text=text,
            source=source,
            study_id=study,
            seed=seed,
        )
        result = {
            "study": created.id,
            "protocol_id": created.protocol_id,
            "protocol_version": created.protocol_version,
            "protocol_sha256": created.protocol_sha256,
            "sites": [s.code for s in created.sites],
        }
    if json_output:
        emit(result)
    else:
        typer.echo(
            f"study '{result['study']}' created from {source} (protocol {result['protocol_id']} v{result['protocol_version']})"
        )


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-app ``name`` registered by another command module, or a new one."""
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
    app.add_typer(audit_app, name="audit")
    randomize_app = _group(app, "randomize", "Randomisation lists and concealed assignment.")

    @randomize_app.command("participant")
    def randomize_participant_cmd(
        code: str = typer.Argument(..., help="Participant code (must be eligible and consented)."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Reveal the next concealed assignment for one participant (blinded roles see the label only)."""
        from taperwise.commands._common import console
        from taperwise.jsonout import emit
        from taperwise.store.engine import transaction
        from taperwise.store.participants import randomise

        who = actor(user, role)
        engine = open_engine(db)
        with transaction(engine) as session:
            outcome = randomise(session, who, study_id=study, code=code)
        shown = outcome.public(unblinded=who.role in ("pharmacist", "admin"))
        if json_output:
            emit(shown)
        else:
            typer.echo(
                f"{code} randomised: arm label {shown['arm_label']}"
                + (f" ({shown['arm']})" if "arm" in shown else "")
            )
            if outcome.warning:
                console.print(f"[yellow]{outcome.warning}[/]")

    @app.command("enroll")
    def enroll_cmd(
        code: str = typer.Argument(
            ..., help="Pseudonymous participant code (never a name or record number)."
        ),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        site: str = typer.Option(
            None, "--site", help="Site code (optional when the study has one site)."
        ),
        stratum: list[str] = typer.Option(
            None, "--stratum", help="Stratification level FACTOR=LEVEL (repeatable)."
        ),
        consent_version: str = typer.Option(
            None, "--consent-version", help="Consent form version signed."
        ),
        consent_date: str = typer.Option(None, "--consent-date", help="Consent date YYYY-MM-DD."),
        ineligible: bool = typer.Option(
            False, "--ineligible", help="Record as not eligible (cannot be randomised)."
        ),
        opioid_class: str = typer.Option(
            None, "--opioid-class", help="short_acting, long_acting or buprenorphine."
        ),
        last_use: str = typer.Option(
            None, "--last-opioid-use", help="Time of last opioid use (ISO 8601)."
        ),
        comed: list[str] = typer.Option(
            None, "--comed", help="Co-medication (repeatable); checked for CYP3A4 interactions."
        ),
        egfr: float = typer.Option(None, "--egfr", help="eGFR in mL/min/1.73 m2."),
        renal_impairment: bool = typer.Option(
            False, "--renal-impairment", help="Known renal impairment."
        ),
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Enrol a participant."""
        from taperwise.commands._common import parse_key_values
        from taperwise.jsonout import emit
        from taperwise.store.engine import transaction
        from taperwise.store.participants import enroll

        engine = open_engine(db)
        with transaction(engine) as session:
            participant, alerts = enroll(
                session,
                actor(user, role),
                study_id=study,
                code=code,
                site=site,
                strata=parse_key_values(stratum, what="--stratum"),
                consent_version=consent_version,
                consent_date=parse_date(consent_date, option="--consent-date"),
                eligible=not ineligible,
                opioid_class=opioid_class,
                last_opioid_use_at=parse_time(last_use, option="--last-opioid-use"),
                comedications=list(comed or []),
                egfr=egfr,
                renal_impairment=renal_impairment,
            )
            result = {
                "participant": participant.code,
                "site": participant.site_code,
                "study": participant.study_id,
                "alerts": alert_dicts(alerts),
            }
        if json_output:
            emit(result)
        else:
            typer.echo(f"enrolled {result['participant']} at site {result['site']}")
            print_alerts(alerts)

    @app.command("assess")
    def assess_cmd(
        code: str = typer.Argument(..., help="Participant code."),
        instrument: str = typer.Option(
            "cows", "--instrument", "-i", help="Instrument id (see `taperwise instruments list`)."
        ),
        item: list[str] = typer.Option(None, "--item", help="Item score KEY=SCORE (repeatable)."),
        pulse_bpm: float = typer.Option(
            None,
            "--pulse-bpm",
            help="Measured resting pulse; derives COWS item 'pulse' when not given.",
        ),
        context: str = typer.Option(
            "unscheduled",
            "--context",
            help="screening, baseline, pre-dose, +30min, +2h, daily, unscheduled, exit.",
        ),
        time: str = typer.Option(
            None, "--time", help="Time of the assessment (ISO 8601; default now)."
        ),
        gi_attributed: bool = typer.Option(
            False, "--gi-attributed-to-product", help="GI symptoms attributed to the study product."
        ),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Record an instrument administration (scored; partial forms are saved as incomplete)."""
        from taperwise.store.records import record_assessment

        raw = {"pulse_bpm": pulse_bpm} if pulse_bpm is not None else {}

        def describe(row) -> dict:  # noqa: ANN001 - an Assessment row
            return {
                "instrument": row.instrument,
                "version": row.version,
                "total": row.total,
                "band": row.band,
                "complete": row.complete,
                "subtotal_no_gi": row.subtotal_no_gi,
            }

        def message(r: dict) -> str:
            total = r["total"] if r["complete"] else "incomplete"
            return f"assessment {r['id']}: {r['instrument']} total {total} band {r['band'] or '-'}"

        record_and_report(
            record_assessment,
            db=db,
            user=user,
            role=role,
            json_output=json_output,
            describe=describe,
            message=message,
            study_id=study,
            code=code,
            instrument=instrument,
            items=parse_int_items(item),
            time=parse_time(time),
            context=context,
            raw=raw,
            gi_attributed_to_product=gi_attributed,
        )

    @app.command("dose")
    def dose_cmd(
        code: str = typer.Argument(..., help="Participant code."),
        amount: float = typer.Option(
            ..., "--amount", help="Amount as written in the protocol regimen's unit."
        ),
        unit: str = typer.Option(..., "--unit", help="Unit (must match the protocol regimen)."),
        held: bool = typer.Option(False, "--held", help="The dose was held (not given)."),
        reason: str = typer.Option(None, "--reason", help="Hold reason (required with --held)."),
        time: str = typer.Option(None, "--time", help="Time (ISO 8601; default now)."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Record a supervised dose, checked against the protocol's limits (it never suggests one)."""
        from taperwise.store.records import record_dose

        record_and_report(
            record_dose,
            db=db,
            user=user,
            role=role,
            json_output=json_output,
            describe=lambda row: {"amount": row.amount, "unit": row.unit, "given": row.given},
            message=lambda r: f"dose {r['id']} recorded ({'given' if r['given'] else 'held'})",
            study_id=study,
            code=code,
            amount=amount,
            unit=unit,
            given=not held,
            hold_reason=reason,
            time=parse_time(time),
        )

    @app.command("vitals")
    def vitals_cmd(
        code: str = typer.Argument(..., help="Participant code."),
        sbp: float = typer.Option(None, "--sbp", help="Systolic BP (mmHg)."),
        dbp: float = typer.Option(None, "--dbp", help="Diastolic BP (mmHg)."),
        hr: float = typer.Option(None, "--hr", help="Heart rate (bpm)."),
        temperature: float = typer.Option(None, "--temp", help="Temperature (deg C)."),
        symptomatic: bool = typer.Option(
            False, "--symptomatic", help="Symptomatic hypotension or bradycardia."
        ),
        time: str = typer.Option(None, "--time", help="Time (ISO 8601; default now)."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Record vital signs (alpha-2 agonist hold rules run on them)."""
        from taperwise.store.records import record_vitals

        record_and_report(
            record_vitals,
            db=db,
            user=user,
            role=role,
            json_output=json_output,
            describe=lambda row: {},
            message=lambda r: f"vitals {r['id']} recorded",
            study_id=study,
            code=code,
            sbp=sbp,
            dbp=dbp,
            hr=hr,
            temperature=temperature,
            symptomatic=symptomatic,
            time=parse_time(time),
        )

    @app.command("ae")
    def ae_cmd(
        code: str = typer.Argument(..., help="Participant code."),
        term: str = typer.Option(..., "--term", help="Adverse event term."),
        grade: int = typer.Option(..., "--grade", help="CTCAE v5 grade 1-5."),
        serious: list[str] = typer.Option(
            None, "--serious", help="ICH E2A seriousness criterion met (repeatable)."
        ),
        relatedness: str = typer.Option(
            "not_assessed",
            "--relatedness",
            help="not_related, unlikely, possible, probable, definite, not_assessed.",
        ),
        outcome: str = typer.Option(
            "not_recovered",
            "--outcome",
            help="recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown.",
        ),
        discontinued: bool = typer.Option(
            False, "--led-to-discontinuation", help="The AE led to discontinuation."
        ),
        onset: str = typer.Option(None, "--onset", help="Onset time (ISO 8601; default now)."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Record an adverse event."""
        from taperwise.store.records import record_adverse_event

        record_and_report(
            record_adverse_event,
            db=db,
            user=user,
            role=role,
            json_output=json_output,
            describe=lambda row: {"grade": row.grade, "serious": row.serious},
            message=lambda r: (
                f"adverse event {r['id']} recorded "
                f"(grade {r['grade']}{', serious' if r['serious'] else ''})"
            ),
            study_id=study,
            code=code,
            term=term,
            grade=grade,
            seriousness=list(serious or []),
            relatedness=relatedness,
            outcome=outcome,
            onset=parse_time(onset, option="--onset"),
            led_to_discontinuation=discontinued,
        )

    @app.command("alerts")
    def alerts_cmd(
        ack: int = typer.Option(None, "--ack", help="Acknowledge the alert with this id."),
        all_alerts: bool = typer.Option(False, "--all", help="Include acknowledged alerts."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """List open alerts, or acknowledge one with --ack ID."""
        from rich.table import Table

        from taperwise.commands._common import console
        from taperwise.jsonout import emit
        from taperwise.store.engine import read_session, transaction
        from taperwise.store.records import acknowledge_alert, list_alerts

        engine = open_engine(db)
        if ack is not None:
            with transaction(engine) as session:
                alert = acknowledge_alert(session, actor(user, role), alert_id=ack)
                result = {
                    "id": alert.id,
                    "acknowledged_by": alert.acknowledged_by,
                    "acknowledged_at": alert.acknowledged_at,
                }
            if json_output:
                emit(result)
            else:
                typer.echo(f"alert {ack} acknowledged by {result['acknowledged_by']}")
            return
        with read_session(engine) as session:
            rows = [
                {
                    "id": a.id,
                    "participant": code,
                    "rule_id": a.rule_id,
                    "severity": a.severity,
                    "message": a.message,
                    "created_at": a.created_at,
                    "acknowledged_by": a.acknowledged_by,
                    "acknowledged_at": a.acknowledged_at,
                }
                for a, code in list_alerts(session, study_id=study, open_only=not all_alerts)
            ]
        if json_output:
            emit({"alerts": rows})
            return
        table = Table(title="alerts")
        for column in ("id", "participant", "severity", "rule_id", "message", "acknowledged_by"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                *(
                    str(r[c] or "")
                    for c in (
                        "id",
                        "participant",
                        "severity",
                        "rule_id",
                        "message",
                        "acknowledged_by",
                    )
                )
            )
        console.print(table)

    @app.command("exit")
    def exit_cmd(
        code: str = typer.Argument(..., help="Participant code."),
        day: int = typer.Option(..., "--day", help="Study day of exit."),
        reason: str = typer.Option(
            ...,
            "--reason",
            help="completed, withdrew_consent, lost_to_follow_up, adverse_event, lack_of_efficacy, investigator_decision, death, other.",
        ),
        time: str = typer.Option(None, "--time", help="Time (ISO 8601; default now)."),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Record a participant's study exit (completion or discontinuation)."""
        from taperwise.jsonout import emit
        from taperwise.store.engine import transaction
        from taperwise.store.records import record_exit

        engine = open_engine(db)
        with transaction(engine) as session:
            row = record_exit(
                session,
                actor(user, role),
                study_id=study,
                code=code,
                day=day,
                reason=reason,
                time=parse_time(time),
            )
            result = {
                "id": row.id,
                "participant": code,
                "day": row.day,
                "reason": row.reason,
                "completed": row.completed,
            }
        if json_output:
            emit(result)
        else:
            typer.echo(f"exit recorded for {code}: day {row.day}, {row.reason}")

    @app.command("edit")
    def edit_cmd(
        entity: str = typer.Argument(
            ..., help="participant, assessment, dose, vitals, adverse_event, deviation, study_exit."
        ),
        entity_id: int = typer.Argument(..., help="Record id."),
        set_: list[str] = typer.Option(
            None, "--set", help="FIELD=VALUE (repeatable); for assessments --item KEY=SCORE."
        ),
        item: list[str] = typer.Option(
            None, "--item", help="Assessment item KEY=SCORE to change (re-scored)."
        ),
        reason: str = typer.Option(
            None, "--reason", help="Why the saved value changes (required)."
        ),
        db: str = DB_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Change a saved record; refused without --reason; every field change is audited."""
        from taperwise.commands._common import parse_key_values
        from taperwise.jsonout import emit
        from taperwise.store.engine import transaction
        from taperwise.store.records import edit_record

        changes: dict[str, object] = {
            k: _coerce(v) for k, v in parse_key_values(set_, what="--set").items()
        }
        if item:
            changes["items"] = parse_int_items(item)
        engine = open_engine(db)
        with transaction(engine) as session:
            changed = edit_record(
                session,
                actor(user, role),
                entity=entity,
                entity_id=entity_id,
                changes=changes,
                reason=reason,
            )
        result = {
            "entity": entity,
            "id": entity_id,
            "changed": {k: {"old": o, "new": n} for k, (o, n) in changed.items()},
        }
        if json_output:
            emit(result)
        else:
            typer.echo(f"{entity} {entity_id}: changed {', '.join(changed) or 'nothing'}")

    @app.command("delete")
    def delete_cmd(
        entity: str = typer.Argument(
            ..., help="participant, assessment, dose, vitals, adverse_event, deviation, study_exit."
        ),
        entity_id: int = typer.Argument(..., help="Record id."),
        reason: str = typer.Option(None, "--reason", help="Why the record is removed (required)."),
        db: str = DB_OPTION,
        user: str = USER_OPTION,
        role: str = ROLE_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Soft-delete a record (it stays in the database and the audit log, marked deleted)."""
        from taperwise.jsonout import emit
        from taperwise.store.engine import transaction
        from taperwise.store.records import delete_record

        engine = open_engine(db)
        with transaction(engine) as session:
            delete_record(
                session, actor(user, role), entity=entity, entity_id=entity_id, reason=reason
            )
        if json_output:
            emit({"entity": entity, "id": entity_id, "deleted": True})
        else:
            typer.echo(f"{entity} {entity_id} deleted (soft)")

    @app.command("export")
    def export_cmd(
        out: Path = typer.Option(
            ..., "--out", help="Output folder (analysis, parquet, csv) or file (sdtm-qs: .csv)."
        ),
        format: str = typer.Option(
            "analysis", "--format", help="analysis, csv, parquet or sdtm-qs."
        ),
        blinded: bool = typer.Option(
            False, "--blinded", help="Replace arm ids by their blinded labels."
        ),
        db: str = DB_OPTION,
        study: str = STUDY_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Export a study: the analysis dataset (DESIGN.md §1) or an SDTM QS domain."""
        from taperwise.errors import ValidationError
        from taperwise.jsonout import emit
        from taperwise.store.engine import read_session
        from taperwise.store.export import export_dataset, sdtm_qs

        allowed = ("analysis", "csv", "parquet", "sdtm-qs")
        if format not in allowed:
            raise ValidationError(
                f"--format '{format}' is not allowed; allowed: {', '.join(allowed)}"
            )
        engine = open_engine(db)
        with read_session(engine) as session:
            if format == "sdtm-qs":
                frame = sdtm_qs(session, study_id=study)
                target = out if out.suffix else out / "qs.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                frame.to_csv(target, index=False)
                result = {"format": format, "out": str(target), "rows": len(frame)}
            else:
                dataset = export_dataset(session, study_id=study, blinded=blinded)
                dataset.write(out, format=format)
                result = {
                    "format": format,
                    "out": str(out),
                    "tables": dataset.counts(),
                    "study": dataset.meta.get("study"),
                }
        if json_output:
            emit(result)
        else:
            typer.echo(f"exported {format} to {result['out']}")

    @audit_app.command("verify")
    def audit_verify(db: str = DB_OPTION, json_output: bool = JSON_OPTION) -> None:
        """Recompute the audit hash chain; exit 1 when any row was altered, removed or reordered."""
        from taperwise.jsonout import emit
        from taperwise.store.audit import verify_chain
        from taperwise.store.engine import read_session

        engine = open_engine(db)
        with read_session(engine) as session:
            report = verify_chain(session)
        if json_output:
            emit(report.to_dict())
        elif report.ok:
            typer.echo(f"audit chain intact: {report.rows} rows")
        else:
            typer.echo(
                f"AUDIT CHAIN BROKEN at row {report.first_bad_seq}: {report.problem}", err=True
            )
        if not report.ok:
            raise typer.Exit(1)

    @audit_app.command("history")
    def audit_history(
        entity: str = typer.Argument(..., help="Entity name, e.g. assessment."),
        entity_id: str = typer.Argument(..., help="Record id."),
        db: str = DB_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        """Every audited change of one record: who, when, field, old, new, reason."""
        from rich.table import Table

        from taperwise.commands._common import console
        from taperwise.jsonout import emit
        from taperwise.store.audit import history
        from taperwise.store.engine import read_session

        engine = open_engine(db)
        with read_session(engine) as session:
            rows = [
                {
                    "seq": r.seq,
                    "ts": r.ts,
                    "user": r.user,
                    "action": r.action,
                    "field": r.field,
                    "old": r.old,
                    "new": r.new,
                    "reason": r.reason,
                }
                for r in history(session, entity=entity, entity_id=entity_id)
            ]
        if json_output:
            emit({"entity": entity, "id": entity_id, "history": rows})
            return
        table = Table(title=f"{entity} {entity_id}")
        for column in ("seq", "ts", "user", "action", "field", "old", "new", "reason"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                *(
                    str(r[c] if r[c] is not None else "")
                    for c in ("seq", "ts", "user", "action", "field", "old", "new", "reason")
                )
            )
        console.print(table)


def _coerce(value: str) -> object:
    """Values given on the command line: numbers, booleans and null are recognised."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
