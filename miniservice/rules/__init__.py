"""Pure rules: gap detection (more to come: schema, loading, quote). No Flask, no database."""

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
from miniservice.rules.months import Month, add_months_to_date, month_range

__all__ = [
    "Cause",
    "CollectionPeriod",
    "Gap",
    "GapPolicy",
    "GapReport",
    "Month",
    "MonthRecord",
    "PayStatus",
    "Scheme",
    "Sex",
    "ThreeMonthLine",
    "add_months_to_date",
    "date_gap_reaches",
    "detect_gaps",
    "due_date",
    "last_due_month",
    "month_range",
    "three_month_line",
]
