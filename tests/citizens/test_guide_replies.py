"""帮助, words not understood and 人工客服 know whether the visitor is bound and name a human route."""

from __future__ import annotations

from typing import Any

from miniservice.citizens.demo_data import DemoPerson
from miniservice.devtools.simulator import Simulator


def test_help_for_a_bound_citizen_names_them_and_does_not_ask_them_to_bind(
    demo: dict[str, DemoPerson], simulator: Simulator
) -> None:
    reply = simulator.click("demo_citizen_4", "HELP").content
    assert reply.startswith("您已绑定 刘*，")
    assert "/h5/bind" not in reply and "请先绑定" not in reply
    assert "人工咨询：拨打医保服务热线 " in reply and "（工作日" in reply  # 成都's hotline and its hours


def test_help_for_a_visitor_says_how_to_bind(demo: dict[str, DemoPerson], simulator: Simulator) -> None:
    reply = simulator.text("o-stranger", "帮助").content
    assert reply.startswith("您还没有绑定身份。")
    assert "填写姓名、身份证号码和医保卡号" in reply and "/h5/bind" in reply


def test_words_not_understood_are_said_so_then_the_help(demo: dict[str, DemoPerson], simulator: Simulator) -> None:
    reply = simulator.text("demo_citizen_4", "我想问问医保怎么报销").content
    assert reply.startswith("抱歉，没能理解您发送的内容。\n您已绑定 刘*")
    assert "人工客服 —— 人工咨询电话和服务时间" in reply


def test_asking_for_a_human_gives_the_hotline_windows_and_hours(
    demo: dict[str, DemoPerson], simulator: Simulator, fake_wechat: Any
) -> None:
    bound = simulator.text("demo_citizen_4", "人工客服").content
    assert "办理地点：" in bound and "窗口和热线服务时间：" in bound
    assert "您已在本服务号绑定 刘*" in bound
    visitor = simulator.text("o-stranger", "转人工").content
    assert "请先绑定身份：http" in visitor
