from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from miniservice import create_app
from miniservice.citizens.identity import id_check_char
from tests.conftest import test_settings


def test_create_app_masks_identity_data_on_every_log_handler(
    tmp_path: Path, database_url: str, fake_wechat: Any, capsys: Any
) -> None:
    id_number = "11010519491231002" + id_check_char("11010519491231002")
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        create_app(test_settings(tmp_path, database_url, fake_wechat.base_url))
        logging.getLogger("miniservice.anything").warning("lookup failed for %s, phone 13912345678", id_number)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "lookup failed" in err
    assert id_number not in err and "13912345678" not in err


def test_a_page_needing_rules_that_nobody_published_says_so_in_chinese(client: Any) -> None:
    from sqlalchemy import select

    from miniservice.citizens.demo_data import generate_demo_data
    from miniservice.citizens.models import Binding

    db = client.application.extensions["miniservice.db"]
    with client.application.app_context():
        generate_demo_data(db, __import__("datetime").date(2026, 11, 20))
    with db.reading() as session:
        openid = session.execute(select(Binding.openid).limit(1)).scalar_one()
    with client.session_transaction() as session:
        session["openid"] = openid
    response = client.get("/h5/records")
    assert response.status_code == 503
    assert "政策规则暂未发布" in response.get_data(as_text=True)


def test_compile_templates_leaves_nothing_to_compile_when_citizens_tap_or_open_pages(
    app: Any, monkeypatch: Any
) -> None:
    from jinja2 import Environment

    from miniservice.app import compile_templates
    from miniservice.messages import ENV_KEY

    served = [name for name in app.jinja_env.list_templates() if name.startswith(("messages/", "h5/", "admin/"))]
    assert compile_templates(app) == len(served) > 40

    def no_compiling(*_: Any, **__: Any) -> None:
        raise AssertionError("a template was compiled after the server process started")

    monkeypatch.setattr(Environment, "compile", no_compiling)
    for name in served:
        env = app.extensions[ENV_KEY] if name.startswith("messages/") else app.jinja_env
        env.get_template(name)
