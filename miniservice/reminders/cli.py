"""``miniservice remind --date D [--dry-run]`` and ``miniservice scheduler``."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import current_app

from miniservice import state
from miniservice.reminders.planning import PlanReport
from miniservice.reminders.sending import SendReport


def _plan_lines(plan: PlanReport, dry_run: bool) -> list[str]:
    verb = "would plan" if dry_run else "planned"
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(plan.planned.items())) or "none"
    lines = [f"{verb}: {plan.total} ({stages})"]
    if plan.superseded:
        lines.append(f"superseded by a later stage: {plan.superseded}")
    if plan.regions_without_rules:
        lines.append("no rules in force for regions: " + ", ".join(plan.regions_without_rules))
    for due in plan.would_send:
        about = "" if due.recipient == due.subject else f" about {due.subject}"
        gap = f", {due.gap_months} months missed" if due.gap_months else ""
        lines.append(f"  {due.recipient}{about}: {due.kind} ({due.stage}{gap}), pay by {due.deadline.isoformat()}")
    return lines


def _send_lines(send: SendReport, quiet: str) -> list[str]:
    if send.outside_quiet_hours:
        return [f"not sent: outside sending hours {quiet}"]
    skipped = ", ".join(f"{status} {count}" for status, count in sorted(send.skipped.items())) or "none"
    lines = [f"sent {send.sent}, retry later {send.retry}, failed {send.failed}, unreachable {send.unreachable}, "
             f"uncertain {send.uncertain}",
             f"skipped: {sum(send.skipped.values())} ({skipped})"]
    if send.stopped:
        lines.append(f"stopped early: {send.stopped}")
    return lines


@click.command(help="Plan (and send) the reminders of a day; prints counts per stage and per outcome.")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="the local day to plan for (default: today)")
@click.option("--dry-run", is_flag=True, help="list who would get which reminder (masked); write and send nothing")
def remind(day: datetime | None, dry_run: bool) -> None:
    from miniservice.clock import local_today
    from miniservice.reminders.service import run_day

    settings = state.settings()
    on: date = day.date() if day else local_today(settings.timezone)
    report = run_day(on, dry_run=dry_run)
    click.echo(f"reminders for {on.isoformat()} ({settings.timezone})")
    for line in _plan_lines(report.plan, dry_run):
        click.echo("  " + line)
    if report.send is not None:
        quiet = f"{settings.reminder_quiet_start}–{settings.reminder_quiet_end}"
        for line in _send_lines(report.send, quiet):
            click.echo("  " + line)
    click.echo(f"  {'due' if dry_run else 'still due'}: {report.due}")


@click.command(help="Run the reminder scheduler (APScheduler, jobs stored in the database) until stopped.")
def scheduler() -> None:
    from miniservice.reminders.scheduler import DAILY_JOB, run_blocking_scheduler

    settings = state.settings()
    click.echo(f"reminder scheduler: {DAILY_JOB} daily at {settings.reminder_run_time} {settings.timezone}; "
               f"sending {settings.reminder_quiet_start}–{settings.reminder_quiet_end} (Ctrl-C stops)")
    run_blocking_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
