"""A retirement top-up for someone younger than anyone may retire is refused on the birth date, in
Chinese, on the CLI and the API alike (audit finding 13)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from miniservice.cli import main

CHILD = ["--region", "360100", "--scheme", "retiree", "--sex", "male", "--paid-months", "100",
         "--birth", "2020-01-01", "--on", "2025-04-15", "--json"]


def test_the_cli_names_the_birth_date_and_says_why(app: Flask, rules: None) -> None:
    result = app.test_cli_runner().invoke(main, ["quote", *CHILD])

    assert result.exit_code == 2, result.output
    assert "'--birth'" in result.output and "才 5 周岁" in result.output and "还不能办理退休补缴" in result.output


def test_the_api_refuses_on_birth(client: Any, rules: None) -> None:
    response = client.get("/api/quote?region=360100&scheme=retiree&sex=female&paid_months=100"
                          "&birth=1990-01-01&on=2025-04-15")

    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "birth" and "女性最早 45 周岁才能退休" in body["error"]


def test_a_retiree_of_retirement_age_is_quoted(client: Any, rules: None) -> None:
    response = client.get("/api/quote?region=360100&scheme=retiree&sex=male&paid_months=100"
                          "&birth=1960-01-01&on=2025-04-15")

    assert response.status_code == 200 and response.get_json()["retirement"]["age"] == 65
