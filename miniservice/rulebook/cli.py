"""``miniservice policies check|load|export``: rule files in, rule versions out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from miniservice import state
from miniservice.db import get_db
from miniservice.rulebook.queries import RulebookError, versions_of
from miniservice.rulebook.resolve import version_in_force
from miniservice.rulebook.service import export_toml, load_directory
from miniservice.rules.loading import check_directory

ACTOR = "system:cli"


def _directory(given: str | None) -> Path:
    return Path(given) if given else state.settings().policies_dir


@click.group(help="Regional rule files (policies/*.toml) and the rule versions in the database.")
def policies() -> None:
    pass


@policies.command(help="Check every file of DIR (default: MINISERVICE_POLICIES_DIR); exit 1 on any problem.")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    path = _directory(directory)
    if not path.is_dir():
        raise click.ClickException(f"not a directory: {path}")
    problems = check_directory(path)
    for problem in problems:
        click.echo(f"{problem.file}\t{problem.field or '(file)'}\t{problem.reason}")
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {path}")
    click.echo(f"{path}: every file is valid and every region resolves")


@policies.command(help="Store the new, valid files of DIR as published versions (unchanged files: no-op).")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def load(directory: str | None) -> None:
    path = Path(directory) if directory else state.settings().policies_dir
    try:
        report = load_directory(get_db(), path, ACTOR)
    except RulebookError as exc:
        raise click.ClickException(str(exc)) from exc
    for label in report.stored:
        click.echo(f"stored\t{label}")
    for problem in report.problems:
        click.echo(f"{problem.file}\t{problem.field or '(file)'}\t{problem.reason}")
    click.echo(f"{len(report.stored)} stored, {len(report.unchanged)} unchanged, {len(report.problems)} problem(s)")
    if report.problems:
        raise SystemExit(1)


@policies.command(help="Write REGION's version in force (or --version V) as TOML, the format of policies/.")
@click.argument("region")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="file to write (default: stdout)")
@click.option("--version", "label", help="a version label instead of the one in force")
@click.option("--on", "on_date", type=click.DateTime(["%Y-%m-%d"]), help="the version in force on this day")
def export(region: str, out: str | None, label: str | None, on_date: datetime | None) -> None:
    with get_db().reading() as session:
        day: date = on_date.date() if on_date else state.clock().today()
        if label:
            chosen = next((v for v in versions_of(session, region) if v.version == label), None)
        else:
            chosen = version_in_force(session, region, day)
        if chosen is None:
            wanted = f"version {label}" if label else f"a version in force on {day.isoformat()}"
            raise click.ClickException(f"{region} has no {wanted}")
        text = export_toml(session, chosen.id)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {region}@{chosen.version} to {out}", err=True)
    else:
        click.echo(text, nl=False)
