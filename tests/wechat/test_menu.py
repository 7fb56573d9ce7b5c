from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from miniservice.wechat.menu import MenuError, checked_menu, load_menu, validate_menu


def test_shipped_menu_mirrors_the_zhihui_renshe_flow_and_passes_wechats_limits() -> None:
    menu = checked_menu("https://bureau.example.cn")
    top = menu["button"][0]
    assert top["name"] == "智慧人社"
    names = [button["name"] for button in top["sub_button"]]
    assert names[:4] == ["身份绑定", "缴费记录", "补缴测算", "家庭共济"]
    assert any("居民医疗保险" in name and "网上缴费" in name for name in names)
    assert top["sub_button"][0]["url"] == "https://bureau.example.cn/h5/bind"


def _menu(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_fourth_top_level_button_is_refused_with_the_limit_named(tmp_path: Path) -> None:
    click = {"type": "click", "name": "帮助", "key": "HELP"}
    path = _menu(tmp_path, {"button": [click, click, click, click]})
    with pytest.raises(MenuError) as error:
        checked_menu("https://x.cn", path)
    assert "4 top-level buttons" in str(error.value)


def test_a_top_level_name_over_16_bytes_is_refused_with_its_byte_count() -> None:
    menu = {"button": [{"type": "click", "name": "智慧人社智慧人社", "key": "K"}]}  # 8 × 3 = 24 bytes
    assert validate_menu(menu) == ["button 1 (智慧人社智慧人社): name is 24 bytes, WeChat allows 16"]


def test_six_sub_buttons_and_an_overlong_url_are_both_reported() -> None:
    subs = [{"type": "view", "name": f"项{i}", "url": "https://x.cn/" + "a" * 1100} for i in range(6)]
    problems = validate_menu({"button": [{"name": "菜单", "sub_button": subs}]})
    assert problems[0] == "button 1 (菜单): has 6 sub-buttons, WeChat allows 1..5"
    assert sum("url is" in problem for problem in problems) == 6


def test_base_url_is_filled_into_every_view_button(tmp_path: Path) -> None:
    path = _menu(tmp_path, {"button": [{"type": "view", "name": "绑定", "url": "{base}/h5/bind"}]})
    assert load_menu("https://a.cn", path)["button"][0]["url"] == "https://a.cn/h5/bind"


def test_menu_push_sends_the_checked_menu_to_wechat(app: Any, fake_wechat: Any, monkeypatch: Any) -> None:
    from miniservice import cli

    monkeypatch.setattr(cli, "create_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["menu", "push"])
    assert result.exit_code == 0, result.output
    created = fake_wechat.calls("menu/create")
    assert len(created) == 1
    assert created[0].body["button"][0]["name"] == "智慧人社"
