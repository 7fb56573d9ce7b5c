"""The command-line entry points: ``miniservice simulate`` and ``python -m …fake_wechat``."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import requests
from flask import Flask

from miniservice.cli import main


def test_simulate_command_talks_to_the_live_callback(app: Flask, live_server: Any) -> None:
    result = app.test_cli_runner().invoke(main, ["simulate", "text", "帮助", "--openid", "o_cli_user", "--aes",
                                                 "--duplicate", "2"])

    assert result.exit_code == 0, result.output
    statuses = [line for line in result.output.splitlines() if line.startswith("HTTP ")]
    assert statuses == ["HTTP 200 aes type=text", "HTTP 200 aes type=text"]
    assert "缴费记录" in result.output  # the help text, decrypted


def test_simulate_command_in_plain_mode_prints_the_reply(app: Flask, live_server: Any) -> None:
    result = app.test_cli_runner().invoke(main, ["simulate", "click", "CHANNELS", "--openid", "o_cli_user"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("HTTP 200 plain type=text")
    assert "12393" in result.output


def test_simulate_command_reports_an_unacknowledged_delivery(app: Flask, live_server: Any) -> None:
    result = app.test_cli_runner().invoke(main, ["simulate", "click", "HELP", "--openid", "o_cli_user", "--url",
                                               live_server.url + "/nowhere"])

    assert result.exit_code != 0
    assert "HTTP 404" in result.output


def test_fake_wechat_runs_standalone() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "miniservice.devtools.fake_wechat", "--port", "0", "--appid", "wxStandalone",
         "--secret", "s", "--follower", "oStandalone"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", process.stdout.readline())
        assert match, "no URL printed"
        base = match.group(1)
        token = requests.get(base + "cgi-bin/token", timeout=5, params={
            "grant_type": "client_credential", "appid": "wxStandalone", "secret": "s"}).json()["access_token"]
        info = requests.get(base + "cgi-bin/user/info", params={"access_token": token, "openid": "oStandalone"},
                            timeout=5).json()
        assert info["subscribe"] == 1
        assert requests.get(base + "__fake__/", timeout=5).json()["appid"] == "wxStandalone"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_simulate_click_with_an_unknown_key_names_the_menus_keys(app: Flask) -> None:
    result = app.test_cli_runner().invoke(main, ["simulate", "click", "NOPE"])

    assert result.exit_code == 2
    assert "unknown menu key 'NOPE'" in result.output
    assert "RECORDS, QUOTE, REMINDERS_ON, REMINDERS_OFF, HELP, CHANNELS" in result.output
