"""``miniservice quote``: the engine's JSON shape, a readable summary, precise errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy.exc import OperationalError

from miniservice import create_app
from miniservice.cli import main
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rules.kinds import Scheme
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts
from tests.conftest import test_settings

SHENZHEN_FOUR_MONTHS = ["--region", "440300", "--scheme", "flexible", "--gap", "2025-01..2025-04", "--on", "2025-05-20"]


Run = Callable[..., Result]


@pytest.fixture
def run(app: Flask) -> Run:
    """``miniservice quote ARGS`` against the test app."""
    return lambda *args: app.test_cli_runner().invoke(main, ["quote", *args])


def test_json_for_shenzhen_four_months_at_the_seed_wage_is_the_engines_quote(run: Run, db: Database,
                                                                            rules: None) -> None:
    result = run(*SHENZHEN_FOUR_MONTHS, "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    on = date(2025, 5, 20)
    engine = quote(rules_in_force(db, "440300", on), CitizenFacts("440300", Scheme.FLEXIBLE, Month(2025, 1),
                                                                  Month(2025, 4)), on)
    assert printed == engine.to_json()
    assert printed["totals"]["contributions"] == "3200.00"  # seed 001: 4 months at 8,000 元 ≈ 3,200 元
    assert printed["totals"]["citizen_owes"] == printed["totals"]["total"] != "3200.00"  # plus the late fee


def test_summary_is_readable_and_marks_illustrative_figures(run: Run, rules: None) -> None:
    result = run(*SHENZHEN_FOUR_MONTHS)

    assert result.exit_code == 0, result.output
    assert "深圳市 (440300)" in result.output and "2025-01 至 2025-04，共 4 个月" in result.output
    assert "3,200.00" in result.output
    assert "[示例数据]" in result.output and "本地规则 2025.5，2025-01-01 起施行" in result.output
    assert "seed" not in result.output and ".toml" not in result.output


@pytest.mark.parametrize(("args", "option", "words"), [
    (["--region", "440300", "--scheme", "flexible", "--gap", "2025-01-2025-04"], "--gap",
     "请按 2025-01..2025-04 这样的格式"),
    (["--region", "440300", "--scheme", "retired", "--gap", "2025-01..2025-04"], "--scheme", "employee"),
    (["--region", "440300", "--scheme", "flexible", "--gap", "2025-1..2025-04"], "--gap",
     "请按 2025-03 这样的格式填写断缴起始月份，您填写的是「2025-1」"),
])
def test_bad_input_names_the_option_and_exits_non_zero(run: Run, args: list[str], option: str,
                                                      words: str) -> None:
    result = run(*args)

    assert result.exit_code == 2
    assert f"'{option}'" in result.output and words in result.output


def test_a_database_without_tables_is_an_instruction_not_a_traceback(tmp_path: Path, fake_wechat: FakeWeChat) -> None:
    """Audit finding 16: a fresh instance directory (no ``init-db``) ended in an OperationalError traceback."""
    bare = create_app(test_settings(tmp_path, f"sqlite:///{tmp_path / 'bare.db'}", fake_wechat.base_url))

    result = bare.test_cli_runner().invoke(main, ["quote", *SHENZHEN_FOUR_MONTHS, "--json"])

    assert result.exit_code == 1 and "miniservice init-db" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OperationalError)
    bare.extensions["miniservice.db"].dispose()


def test_without_loaded_rules_the_operator_is_told_what_to_run(run: Run) -> None:
    result = run(*SHENZHEN_FOUR_MONTHS, "--json")

    assert result.exit_code == 1
    assert "miniservice policies load" in result.output


YEAR_LIMIT = "本服务只能测算 1990-01-01 至 2200-12-31 之间的日期"


@pytest.mark.parametrize(("query", "args"), [
    ("region=140100&scheme=resident&on=2200-10-10",  # the year open for payment would be 2201
     ["--region", "140100", "--scheme", "resident", "--on", "2200-10-10"]),
    ("region=110000&scheme=flexible&gap=2025-01..2025-04&on=2201-01-15",
     ["--region", "110000", "--scheme", "flexible", "--gap", "2025-01..2025-04", "--on", "2201-01-15"]),
])
def test_the_year_2200_limit_is_one_refusal_in_the_same_words_on_the_cli_and_the_api(
        run: Run, client: Any, rules: None, query: str, args: list[str]) -> None:
    """Audit finding 11: a 居民医保 quote for 2201 was served while a 2199 gap quote was refused."""
    response = client.get("/api/quote?" + query)
    printed = run(*args, "--json")

    assert response.status_code == 400 and response.get_json()["field"] == "on"
    assert YEAR_LIMIT in response.get_json()["error"]
    assert printed.exit_code == 2 and "'--on'" in printed.output
    assert response.get_json()["error"] in " ".join(printed.output.split())


def test_a_quote_whose_dates_all_fall_before_2201_is_given(run: Run, rules: None) -> None:
    printed = run("--region", "110000", "--scheme", "flexible", "--gap", "2199-01..2199-04", "--on", "2199-05-20",
                  "--json")

    assert printed.exit_code == 0, printed.output
    data = json.loads(printed.output)
    assert data["benefits"]["resume_on"].startswith("2199-")
    assert data["three_month_line"]["last_day_within"].startswith("2199-")
