"""Pure 医保 rules: no Flask, no database, no I/O beyond reading rule files.

Public API (re-exported here):

* Values — ``Month``, ``month_range``, ``add_months_to_date`` (months.py); ``to_fen``,
  ``parse_money``, ``format_yuan`` (money.py); ``Scheme``, ``PayStatus``, ``Cause``, ``Sex`` (kinds.py).
* Gaps — ``detect_gaps(records, *, scheme, enrolled_from, as_of, policy=None, has_required_years=False)
  -> GapReport`` with ``MonthRecord``, ``GapPolicy``, ``CollectionPeriod``, ``Gap``, ``ThreeMonthLine``;
  helpers ``due_date``, ``last_due_month``, ``date_gap_reaches``, ``three_month_line`` (gaps.py).
* Rule files — ``load_rulebook(dir) -> RuleBook`` (``.resolve(code)``, ``.region_for(code)``,
  ``.check()``), ``resolve_region(dir, code) -> RegionRules``, ``check_directory(dir) -> list[Problem]``,
  ``parse_region(text, filename)``, ``load_region_file(path)``, ``dump_toml(region)``,
  ``rulebook_from_texts({name: text})``, ``RuleFileError`` (loading.py); models ``RegionFile``,
  ``RegionRules`` and the section models (schema.py). ``RegionRules.gap_policy(scheme)`` feeds
  ``detect_gaps``.
* Sources — ``default_registry() -> {id: SourceDoc}`` (sources.py, the shipped ``policies/sources.toml``);
  ``figure_label(path)`` and ``figure_value_text(path, value)`` give a figure's Chinese name and value
  (labels.py); ``Citation`` carries both with its source documents and quoted sentences (citing.py).
* Quotes — ``quote(rules, facts, on_date) -> Quote`` with ``CitizenFacts``; ``Quote.to_json()`` is the
  one JSON shape (docs/quote-json.md); ``QuoteError`` (quote.py, quote_model.py).
"""

from miniservice.rules.citing import Citation, QuoteError
from miniservice.rules.gaps import (
    CollectionPeriod,
    Gap,
    GapPolicy,
    GapReport,
    MonthRecord,
    ThreeMonthLine,
    date_gap_reaches,
    detect_gaps,
    due_date,
    last_due_month,
    three_month_line,
)
from miniservice.rules.kinds import Cause, PayStatus, Scheme, Sex
from miniservice.rules.labels import figure_label, figure_value_text
from miniservice.rules.loading import (
    Problem,
    RuleBook,
    RuleFileError,
    check_directory,
    dump_toml,
    load_region_file,
    load_rulebook,
    parse_region,
    resolve_region,
    rulebook_from_texts,
)
from miniservice.rules.money import format_yuan, parse_money, to_fen
from miniservice.rules.months import Month, add_months_to_date, month_range
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Quote, Route
from miniservice.rules.schema import Figure, RegionFile, RegionRules, Relation
from miniservice.rules.sources import SourceDoc, default_registry

__all__ = [
    "Cause",
    "Citation",
    "CitizenFacts",
    "CollectionPeriod",
    "Figure",
    "Gap",
    "GapPolicy",
    "GapReport",
    "Month",
    "MonthRecord",
    "PayStatus",
    "Problem",
    "Quote",
    "QuoteError",
    "RegionFile",
    "RegionRules",
    "Relation",
    "Route",
    "RuleBook",
    "RuleFileError",
    "Scheme",
    "Sex",
    "SourceDoc",
    "ThreeMonthLine",
    "add_months_to_date",
    "check_directory",
    "date_gap_reaches",
    "default_registry",
    "detect_gaps",
    "due_date",
    "dump_toml",
    "figure_label",
    "figure_value_text",
    "format_yuan",
    "last_due_month",
    "load_region_file",
    "load_rulebook",
    "month_range",
    "parse_money",
    "parse_region",
    "quote",
    "resolve_region",
    "rulebook_from_texts",
    "three_month_line",
    "to_fen",
]
