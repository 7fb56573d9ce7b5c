"""``miniservice quote``: a what-if quote from the command line, as JSON or as a readable summary.

``--json`` prints exactly ``Quote.to_json()`` (the shape the API serves), so scripts and the tests
can compare the CLI with the engine. Input is checked by the same rules as the API and the form;
a bad value names its option and exits non-zero.
"""

from __future__ import annotations

import json

import click
from flask import render_template

from miniservice import state
from miniservice.db import get_db
from miniservice.quotes.errors import BadParameter, QuoteUnavailable
from miniservice.quotes.params import parse_what_if, split_gap
from miniservice.quotes.present import QuoteView
from miniservice.quotes.service import what_if

OPTION_OF_FIELD = {"region": "--region", "scheme": "--scheme", "gap": "--gap", "first": "--gap", "last": "--gap",
                   "cause": "--cause", "on": "--on", "continuous": "--continuous-months", "base": "--base",
                   "sex": "--sex", "birth": "--birth", "paid_months": "--paid-months",
                   "actual_months": "--actual-months"}


@click.command("quote", help="Quote a back-payment (补缴) for a gap under the rules in force on --on.")
@click.option("--region", required=True, help="6-digit GB/T 2260 code, e.g. 440300 (深圳); a district falls back "
              "to its city")
@click.option("--scheme", required=True, help="employee (职工医保), flexible (灵活就业), resident (居民医保) or "
              "retiree (退休补足年限)")
@click.option("--gap", default="", help="the unpaid months, YYYY-MM..YYYY-MM (optional for resident; none for "
              "retiree); every month must be past its due date on --on")
@click.option("--cause", default="self", show_default=True, help="self (个人原因) or unit (单位原因)")
@click.option("--on", "on", default="", help="quote date YYYY-MM-DD, 1990-01-01..2200-12-31 (default: today in "
              "MINISERVICE_TZ)")
@click.option("--continuous-months", "continuous", default="", help="months of continuous enrolment before the gap "
              "(default 0)")
@click.option("--base", default="", help="the declared monthly base in 元 (default: the region's figure)")
@click.option("--sex", default="", help="retiree: male or female")
@click.option("--birth", default="", help="retiree: birth date YYYY-MM-DD (optional)")
@click.option("--paid-months", "paid_months", default="", help="retiree: months paid, deemed months included")
@click.option("--actual-months", "actual_months", default="", help="retiree: months actually paid (default: "
              "--paid-months)")
@click.option("--json", "as_json", is_flag=True, help="print Quote.to_json() instead of the summary")
def quote_command(region: str, scheme: str, gap: str, cause: str, on: str, as_json: bool, **extra: str) -> None:
    today = state.clock().today()
    try:
        first, last = split_gap(gap)
        wanted = parse_what_if(region=region, scheme=scheme, first=first, last=last, cause=cause, on=on,
                               today=today, **extra)
        result = what_if(get_db(), wanted)
    except BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint=f"'{OPTION_OF_FIELD[exc.field]}'") from exc
    except QuoteUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_template("messages/quote_summary.txt", v=QuoteView(result, "cli")).strip())
