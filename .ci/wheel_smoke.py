"""Run from outside the source tree against an installed wheel: the package must find its own templates,
rule files and migrations, answer a signed WeChat tap and render a citizen page."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import miniservice
from miniservice import create_app
from miniservice.config import POLICIES_DIR, TEMPLATES_DIR
from miniservice.db import get_db, init_db
from miniservice.devtools.simulator import CallbackAccount, build_delivery, click_xml, decode_reply
from miniservice.rulebook.service import load_directory

package = Path(miniservice.__file__).parent
assert "site-packages" in str(package), f"not the installed wheel: {package}"
assert (package / "templates", package / "policies") == (TEMPLATES_DIR, POLICIES_DIR), (TEMPLATES_DIR, POLICIES_DIR)

with tempfile.TemporaryDirectory() as tmp:
    account = CallbackAccount(token="smoketoken", app_id="wxsmoke0000000000")
    app = create_app({"env": "test", "instance_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/smoke.db",
                      "secret_key": "smoke", "data_key": "x" * 43 + "=", "wechat_token": account.token,
                      "wechat_app_id": account.app_id, "wechat_app_secret": "s", "wechat_aes_key": None})
    with app.app_context():
        init_db(get_db())
        assert load_directory(get_db(), POLICIES_DIR, "wheel smoke").ok
    xml = click_xml(account, "o_wheel_smoke", "HELP")
    delivery = build_delivery(account, xml)
    response = app.test_client().post("/wechat/callback", query_string=delivery.params, data=delivery.body)
    reply = decode_reply(account, response.status_code, response.get_data(as_text=True))
    assert response.status_code == 200 and "退订提醒" in (reply.content or ""), response.get_data(as_text=True)
    page = app.test_client().get("/h5/records")
    assert page.status_code in (200, 302), page.status_code
print(f"wheel smoke: templates and policies from {package}, callback answered, page {page.status_code}")
sys.exit(0)
