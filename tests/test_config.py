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


PRODUCTION = {"MINISERVICE_ENV": "production", "MINISERVICE_SECRET_KEY": "s", "MINISERVICE_DATABASE_URL": "sqlite://",
              "WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "a"}
KEY_A, KEY_B = "a" * 43 + "=", "b" * 43 + "="


def test_production_with_data_keys_refuses_to_start_without_a_separate_lookup_key() -> None:
    with pytest.raises(ConfigError, match="MINISERVICE_LOOKUP_KEYS") as error:
        load_settings(PRODUCTION | {"MINISERVICE_DATA_KEYS": f"d1:{KEY_A}"})
    assert "MINISERVICE_DATA_KEYS," not in str(error.value)


def test_production_starts_with_key_rings_and_no_legacy_key() -> None:
    settings = load_settings(PRODUCTION | {"MINISERVICE_DATA_KEYS": f"d2:{KEY_B}, d1:{KEY_A}",
                                           "MINISERVICE_LOOKUP_KEYS": f"l1:{KEY_A}"})
    assert [k.key_id for k in settings.data_keys] == ["d2", "d1"] and settings.data_key == ""
    assert [k.key_id for k in settings.lookup_keys] == ["l1"]


def test_the_legacy_data_key_alone_still_starts_production() -> None:
    settings = load_settings(PRODUCTION | {"MINISERVICE_DATA_KEY": KEY_A})
    assert settings.data_key == KEY_A and settings.data_keys == settings.lookup_keys == ()


@pytest.mark.parametrize(("variable", "value", "complaint"), [
    ("MINISERVICE_DATA_KEYS", KEY_A, "id:key"),
    ("MINISERVICE_DATA_KEYS", f"bad id!:{KEY_A}", "key id"),
    ("MINISERVICE_LOOKUP_KEYS", "l1:c2hvcnQ=", "at least 32 bytes"),
    ("MINISERVICE_LOOKUP_KEYS", f"l1:{KEY_A},l1:{KEY_B}", "appears twice"),
])
def test_a_malformed_key_stops_the_start(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings(PRODUCTION | {"MINISERVICE_DATA_KEY": KEY_A, variable: value})
