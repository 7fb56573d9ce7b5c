"""``miniservice import-records FILE.csv`` and ``miniservice seed-demo [--today D]``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from miniservice.citizens.demo_data import demo_table, generate_demo_data
from miniservice.citizens.importing import import_records
from miniservice.clock import local_today
from miniservice.db import get_db, init_db


@click.command("import-records", help="Import a registry export (docs/import-format.md); all rows or none.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="system:cli", show_default=True, help="Who is recorded in the audit log.")
def import_records_command(file: Path, actor: str) -> None:
    from miniservice.cli import make_app

    app = make_app()
    with app.app_context():
        report = import_records(get_db(), file.read_bytes(), actor)
    if not report.ok:
        for line in report.summary():
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo("\n".join(report.summary()))


@click.command("seed-demo", help="Create the demo people and bind demo_citizen_1… (safe to repeat).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the demo records are relative to (default: today in MINISERVICE_TZ).")
def seed_demo_command(today: datetime | None) -> None:
    from miniservice.cli import make_app

    app = make_app()
    with app.app_context():
        db = get_db()
        init_db(db)
        day: date = today.date() if today else local_today(app.extensions["miniservice.settings"].timezone)
        people = generate_demo_data(db, day)
    click.echo(f"demo data as of {day}:")
    click.echo(demo_table(people))


commands = [import_records_command, seed_demo_command]
