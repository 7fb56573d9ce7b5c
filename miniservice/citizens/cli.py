"""``miniservice import-records FILE.csv``, ``seed-demo [--today D]`` and ``rotate-data-key`` (docs/security.md)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from miniservice import state
from miniservice.citizens.demo_data import demo_table, generate_demo_data
from miniservice.citizens.importing import import_records
from miniservice.citizens.rotation import RotationProgress, rotate_identity_keys, rows_to_move
from miniservice.db import get_db, init_db


@click.command("import-records", help="Import a registry export (docs/import-format.md); all rows or none.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="system:cli", show_default=True, help="Who is recorded in the audit log.")
def import_records_command(file: Path, actor: str) -> None:
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
    if state.settings().is_production:
        raise click.ClickException(REFUSED_IN_PRODUCTION)
    db = get_db()
    init_db(db)
    day: date = today.date() if today else state.clock().today()
    people = generate_demo_data(db, day)
    click.echo(f"demo data as of {day}:")
    click.echo(demo_table(people))


@click.command("rotate-data-key",
               help="Re-encrypt and re-hash identity data with the first key of MINISERVICE_DATA_KEYS and "
                    "MINISERVICE_LOOKUP_KEYS, in batches, while the service runs; safe to interrupt and re-run.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="People per transaction.")
@click.option("--check", is_flag=True, help="Only count the people still under an older key (exit 1 if any).")
def rotate_data_key_command(batch_size: int, check: bool) -> None:
    db, vault = get_db(), state.vault()
    if not check:
        def report(progress: RotationProgress) -> None:
            click.echo(f"checked {progress.checked}, moved {progress.moved}, "
                       f"changed meanwhile {progress.changed_meanwhile} (up to person #{progress.last_id})")

        rotate_identity_keys(db, vault, batch_size=batch_size, after_batch=report)
    stale, total = rows_to_move(db, vault)
    click.echo(f"{stale} of {total} people still under an older key "
               f"(current data key {vault.data_key_id or '(legacy)'}, look-up key {vault.lookup_key_id or '(legacy)'})")
    if stale:
        raise SystemExit(1)
