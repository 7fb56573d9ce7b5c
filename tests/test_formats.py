"""One money format and one date format on every citizen page and message."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from miniservice.clock import local_text
from miniservice.config import PROJECT_ROOT

CITIZEN_TEMPLATES = [*(PROJECT_ROOT / "templates" / "h5").glob("*.html"),
                     *(PROJECT_ROOT / "templates" / "messages").glob("*.txt")]
AMOUNT_SHOWN = re.compile(r"\{\{([^{}]*)\}\}\s*元")


def test_every_amount_a_citizen_reads_goes_through_the_one_money_filter() -> None:
    unformatted = [
        f"{path.name}: {{{{{expression.strip()}}}}} 元"
        for path in CITIZEN_TEMPLATES
        for expression in AMOUNT_SHOWN.findall(path.read_text(encoding="utf-8"))
        if "citizen_yuan" not in expression
    ]
    assert unformatted == []


def test_a_number_is_never_glued_to_the_chinese_before_it_by_an_include() -> None:
    glued = [path.name for path in CITIZEN_TEMPLATES
             if re.search(r"[\u4e00-\u9fff]\{% include \"messages/family_item.txt\"", path.read_text(encoding="utf-8"))]
    assert glued == []


def test_instants_read_in_the_bureaus_time_zone_in_one_format() -> None:
    assert local_text(datetime(2026, 12, 24, 16, 5, tzinfo=UTC), "Asia/Shanghai") == "2026-12-25 00:05"
