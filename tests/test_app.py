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
