"""The router is built per app from each feature's handlers and must agree with the menu, or the
service does not start: a menu key without a handler would otherwise answer ``success`` in silence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from miniservice import create_app, state
from miniservice.app import load_handlers
from miniservice.wechat.menu import click_keys, load_menu
from miniservice.wechat.router import Handlers, Inbound, Router, RoutingError
from tests.conftest import test_settings


def _answer(_: Inbound) -> str:
    return "ok"


def _router(*sets: Handlers) -> Router:
    router = Router()
    for handlers in sets:
        router.include(handlers)
    return router


def _with_fallback() -> Handlers:
    handlers = Handlers()
    handlers.default(_answer)
    return handlers


def test_a_menu_key_without_a_handler_is_refused_by_name() -> None:
    handlers = _with_fallback()
    handlers.click("HELP", "帮助")(_answer)
    with pytest.raises(RoutingError, match="menu key 'QUOTE' has no handler"):
        _router(handlers).check_menu({"HELP", "QUOTE"})


def test_a_handler_reached_by_no_menu_key_and_no_word_is_refused_by_name() -> None:
    handlers = _with_fallback()
    handlers.click("HELP")(_answer)
    with pytest.raises(RoutingError, match=r"_answer \(key 'HELP'\) is on no menu button and has no keyword"):
        _router(handlers).check_menu(set())


def test_a_handler_reached_only_by_typed_words_is_accepted() -> None:
    handlers = _with_fallback()
    handlers.click("FAMILY", "家庭共济")(_answer)
    _router(handlers).check_menu(set())


def test_two_features_answering_one_key_or_one_word_are_refused() -> None:
    first, second, third = Handlers(), Handlers(), Handlers()
    first.click("HELP", "帮助")(_answer)
    second.click("HELP")(_answer)
    third.click("OTHER", "帮助")(_answer)
    with pytest.raises(RoutingError, match="menu key 'HELP' already has a handler"):
        _router(first, second)
    with pytest.raises(RoutingError, match="keyword '帮助' already leads to menu key 'HELP'"):
        _router(first, third)


def test_declaring_handlers_registers_nothing_until_an_app_includes_them() -> None:
    handlers = Handlers()
    handlers.click("ONLY_HERE", "只在这里")(_answer)
    assert "ONLY_HERE" not in load_handlers().clicks


def test_every_menu_key_of_the_shipped_menu_has_its_handler_in_the_app(app: Flask) -> None:
    router = state.router(app)
    assert set(click_keys(load_menu("https://x.cn"))) <= set(router.clicks)
    assert router.fallback is not None


def test_the_benchmarks_router_routes_as_the_apps_does(app: Flask) -> None:
    built, loaded = state.router(app), load_handlers()
    assert loaded.clicks == built.clicks and loaded.keywords == built.keywords
    assert loaded.events == built.events and loaded.fallback == built.fallback


def test_the_app_does_not_start_when_the_menu_names_a_key_nobody_answers(
        tmp_path: Path, database_url: str, fake_wechat: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def menu_with_a_new_button(base_url: str) -> dict[str, Any]:
        menu = load_menu(base_url)
        menu["button"][2]["sub_button"].append({"type": "click", "name": "新按钮", "key": "NEW_BUTTON"})
        return menu

    monkeypatch.setattr("miniservice.app.load_menu", menu_with_a_new_button)
    with pytest.raises(RoutingError, match="menu key 'NEW_BUTTON' has no handler"):
        create_app(test_settings(tmp_path, database_url, fake_wechat.base_url))
