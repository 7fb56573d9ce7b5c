from __future__ import annotations

from pathlib import Path

import pytest

from miniservice.config import ConfigError, load_settings


def test_production_without_secrets_names_every_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"MINISERVICE_ENV": "production", "WECHAT_TOKEN": "t"})
    message = str(error.value)
    for name in ("MINISERVICE_SECRET_KEY", "MINISERVICE_DATA_KEY", "WECHAT_APP_ID", "WECHAT_APP_SECRET"):
        assert name in message
    assert "WECHAT_TOKEN" not in message


def test_demo_mode_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    environ = {"MINISERVICE_ENV": "demo", "MINISERVICE_INSTANCE_DIR": str(tmp_path)}
    first = load_settings(environ)
    second = load_settings(environ)
    assert first.secret_key and first.data_key and first.wechat_token
    assert (first.secret_key, first.data_key) == (second.secret_key, second.data_key)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite:///{tmp_path / 'miniservice.db'}"


def test_environment_wins_over_generated_secrets(tmp_path: Path) -> None:
    environ = {"MINISERVICE_INSTANCE_DIR": str(tmp_path), "WECHAT_TOKEN": "mine", "REDIS_URL": "redis://x"}
    settings = load_settings(environ)
    assert settings.wechat_token == "mine"
    assert settings.redis_url == "redis://x"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="MINISERVICE_ENV"):
        load_settings({"MINISERVICE_ENV": "staging"})


def test_generated_aes_keys_are_ones_wechatpy_can_use(tmp_path: Path) -> None:
    from wechatpy.crypto import WeChatCrypto

    for attempt in range(20):
        settings = load_settings({"MINISERVICE_INSTANCE_DIR": str(tmp_path / str(attempt))})
        assert settings.wechat_aes_key is not None and len(settings.wechat_aes_key) == 43
        crypto = WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
        envelope = crypto.encrypt_message("<xml><Content>hi</Content></xml>", "nonce", "1")
        assert "<Encrypt>" in envelope


def test_reminder_quiet_hours_come_from_the_environment(tmp_path: Path) -> None:
    environ = {
        "MINISERVICE_INSTANCE_DIR": str(tmp_path),
        "MINISERVICE_REMINDER_QUIET_START": "08:30",
        "MINISERVICE_REMINDER_QUIET_END": "19:00",
    }
    settings = load_settings(environ)
    assert (settings.reminder_quiet_start, settings.reminder_quiet_end) == ("08:30", "19:00")
