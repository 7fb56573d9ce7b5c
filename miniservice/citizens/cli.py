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


REFUSED_IN_PRODUCTION = ("生产环境不能写入演示数据：演示人员的身份证号可能与真实参保人相同，会覆盖其记录和绑定。"
                         "请只在演示或测试环境（MINISERVICE_ENV=demo 或 test）运行 seed-demo。")


@click.command("seed-demo", help="Create the demo people and bind demo_citizen_1… (safe to repeat; refused in "
                                 "production).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the demo records are relative to (default: today in MINISERVICE_TZ).")
def seed_demo_command(today: datetime | None) -> None:
    from miniservice.cli import make_app

    app = make_app()
    if app.extensions["miniservice.settings"].is_production:
        raise click.ClickException(REFUSED_IN_PRODUCTION)
    with app.app_context():
        db = get_db()
        init_db(db)
        day: date = today.date() if today else local_today(app.extensions["miniservice.settings"].timezone)
        people = generate_demo_data(db, day)
    click.echo(f"demo data as of {day}:")
    click.echo(demo_table(people))


commands = [import_records_command, seed_demo_command]
