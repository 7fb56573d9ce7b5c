"""Settings from the environment.

One frozen object built once per app, so that a missing secret fails at start-up with a message
that names the variable, not later on the first request that needs it. Demo mode generates its
secrets once and keeps them under ``instance/`` so that encrypted identity data stays readable
across restarts.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from miniservice.citizens.identity import IdentityVault, Key
from miniservice.paths import PACKAGE_DIR, POLICIES_DIR, PROJECT_ROOT, TEMPLATES_DIR, shipped

__all__ = ["PACKAGE_DIR", "POLICIES_DIR", "PROJECT_ROOT", "TEMPLATES_DIR", "ConfigError", "Settings", "load_settings",
           "shipped"]

# A source checkout keeps demo secrets and the SQLite file beside the code; an installed service in the
# directory it is started from (production sets MINISERVICE_INSTANCE_DIR and a database URL anyway).
DEFAULT_INSTANCE_DIR = (PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()) / "instance"

# Secrets without which production must not start; demo and test modes generate them. The identity
# keys are checked apart: MINISERVICE_DATA_KEY alone, or MINISERVICE_DATA_KEYS with MINISERVICE_LOOKUP_KEYS.
REQUIRED_IN_PRODUCTION = (
    "MINISERVICE_SECRET_KEY",
    "MINISERVICE_DATABASE_URL",
    "WECHAT_TOKEN",
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
)


class ConfigError(RuntimeError):
    """Raised at start-up when the environment cannot run the service."""


@dataclass(frozen=True)
class Settings:
    env: str = "demo"
    instance_dir: Path = DEFAULT_INSTANCE_DIR
    database_url: str = ""
    secret_key: str = ""
    data_key: str = ""  # legacy single key: encrypts and hashes with no key id
    data_keys: tuple[Key, ...] = ()  # MINISERVICE_DATA_KEYS, current first
    lookup_keys: tuple[Key, ...] = ()  # MINISERVICE_LOOKUP_KEYS, current first
    policies_dir: Path = POLICIES_DIR
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    public_base_url: str = "http://127.0.0.1:5000"
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str | None = None
    # WeChat's 消息加解密方式: "safe" (安全模式, encrypted bodies only), "compatible" (兼容模式, both), "plain".
    # Unset: safe when an EncodingAESKey is configured, plain otherwise.
    wechat_message_mode: str = ""
    wechat_api_base: str | None = None
    wechat_oauth_base: str | None = None
    max_callback_bytes: int = 64 * 1024
    reminder_run_time: str = "09:30"
    reminder_quiet_start: str = "09:00"
    reminder_quiet_end: str = "20:00"
    reminder_rate_per_second: float = 20.0
    template_ids: dict[str, str] = field(default_factory=dict)
    scheduler_enabled: bool = False
    proxy_hops: int = 0  # reverse proxies in front of the app that set X-Forwarded-For / -Proto
    # WeChat Pay (docs/payments.md): the merchant's key files, and the API's address (None: the real one).
    pay_keys_dir: Path | None = None
    pay_api_base: str | None = None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def safe_mode(self) -> bool:
        return bool(self.wechat_aes_key)

    @property
    def message_mode(self) -> str:
        """What the callback accepts: only encrypted bodies unless plain text is configured on purpose."""
        return self.wechat_message_mode or ("safe" if self.wechat_aes_key else "plain")

    def with_overrides(self, overrides: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, **overrides)


def _demo_secrets(instance_dir: Path) -> dict[str, str]:
    """Secrets generated on first use and kept in ``instance/secrets.json`` (mode 600)."""
    path = instance_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    instance_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "secret_key": secrets.token_urlsafe(32),
        "data_key": urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "wechat_token": secrets.token_hex(8),
        "wechat_app_id": "wxdemo" + secrets.token_hex(5),
        "wechat_app_secret": secrets.token_hex(16),
        # WeChat issues EncodingAESKey as 43 letters and digits: wechatpy's plain b64decode drops "-" or "_".
        "wechat_aes_key": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43)),
    }
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def _template_ids(raw: str | None) -> dict[str, str]:
    """``WECHAT_TEMPLATE_IDS`` is ``kind=id,kind=id`` (e.g. ``gap_reminder=abc``)."""
    if not raw:
        return {}
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {kind.strip(): value.strip() for kind, value in pairs}


MESSAGE_MODES = ("plain", "compatible", "safe")


def _message_mode(mode: str, aes_key: str) -> str:
    """Compatible and safe modes need the EncodingAESKey; a typo must not silently accept plain bodies."""
    if not mode:
        return ""
    if mode not in MESSAGE_MODES:
        raise ConfigError(f"WECHAT_MESSAGE_MODE must be one of {', '.join(MESSAGE_MODES)}, not {mode!r}")
    if mode != "plain" and not aes_key:
        raise ConfigError(f"WECHAT_MESSAGE_MODE={mode} needs WECHAT_AES_KEY")
    return mode


def _keys(env: dict[str, str], name: str) -> tuple[Key, ...]:
    """``id:secret,id:secret`` (current first) as keys; a malformed list stops the start-up."""
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    keys = []
    for item in raw.split(","):
        key_id, sep, secret = item.strip().partition(":")
        if not sep or not key_id or not secret:
            raise ConfigError(f"{name} must read id:key[,id:key…] (the first one is current)")
        keys.append(Key(key_id, secret))
    return tuple(keys)


def _missing_identity_keys(env: dict[str, str]) -> list[str]:
    """Production needs the legacy key, or both rings (a look-up key separate from the data keys)."""
    if env.get("MINISERVICE_DATA_KEY"):
        return []
    if not env.get("MINISERVICE_DATA_KEYS") and not env.get("MINISERVICE_LOOKUP_KEYS"):
        return ["MINISERVICE_DATA_KEY (or MINISERVICE_DATA_KEYS with MINISERVICE_LOOKUP_KEYS)"]
    return [name for name in ("MINISERVICE_DATA_KEYS", "MINISERVICE_LOOKUP_KEYS") if not env.get(name)]


def _identity_keys(env: dict[str, str]) -> tuple[tuple[Key, ...], tuple[Key, ...]]:
    """The key rings, checked now so that a bad or missing key fails at start-up, not on a request."""
    data_keys, lookup_keys = _keys(env, "MINISERVICE_DATA_KEYS"), _keys(env, "MINISERVICE_LOOKUP_KEYS")
    legacy = env.get("MINISERVICE_DATA_KEY")
    if data_keys or lookup_keys or legacy:
        try:
            IdentityVault(legacy, data_keys=data_keys, lookup_keys=lookup_keys)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return data_keys, lookup_keys


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``); production demands every secret."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("MINISERVICE_ENV", "demo")
    if mode not in {"demo", "production", "test"}:
        raise ConfigError(f"MINISERVICE_ENV must be demo, production or test, not {mode!r}")
    if mode == "production":
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)] + _missing_identity_keys(env)
        if missing:
            raise ConfigError("production mode needs these environment variables: " + ", ".join(missing))
    data_keys, lookup_keys = _identity_keys(env)
    instance_dir = Path(env.get("MINISERVICE_INSTANCE_DIR", DEFAULT_INSTANCE_DIR))
    generated = _demo_secrets(instance_dir) if mode != "production" else {}

    def pick(name: str, key: str) -> str:
        return env.get(name) or generated.get(key, "")

    return Settings(
        env=mode,
        instance_dir=instance_dir,
        database_url=env.get("MINISERVICE_DATABASE_URL") or f"sqlite:///{instance_dir / 'miniservice.db'}",
        secret_key=pick("MINISERVICE_SECRET_KEY", "secret_key"),
        data_key=pick("MINISERVICE_DATA_KEY", "data_key") if not (data_keys and lookup_keys) else
        env.get("MINISERVICE_DATA_KEY", ""),
        data_keys=data_keys,
        lookup_keys=lookup_keys,
        policies_dir=Path(env.get("MINISERVICE_POLICIES_DIR", POLICIES_DIR)),
        redis_url=env.get("REDIS_URL") or None,
        timezone=env.get("MINISERVICE_TZ", "Asia/Shanghai"),
        public_base_url=env.get("MINISERVICE_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        wechat_token=pick("WECHAT_TOKEN", "wechat_token"),
        wechat_app_id=pick("WECHAT_APP_ID", "wechat_app_id"),
        wechat_app_secret=pick("WECHAT_APP_SECRET", "wechat_app_secret"),
        wechat_aes_key=pick("WECHAT_AES_KEY", "wechat_aes_key") or None,
        wechat_message_mode=_message_mode(env.get("WECHAT_MESSAGE_MODE", ""), pick("WECHAT_AES_KEY", "wechat_aes_key")),
        wechat_api_base=env.get("WECHAT_API_BASE") or None,
        wechat_oauth_base=env.get("WECHAT_OAUTH_BASE") or None,
        reminder_run_time=env.get("MINISERVICE_REMINDER_TIME", "09:30"),
        reminder_quiet_start=env.get("MINISERVICE_REMINDER_QUIET_START", "09:00"),
        reminder_quiet_end=env.get("MINISERVICE_REMINDER_QUIET_END", "20:00"),
        reminder_rate_per_second=float(env.get("MINISERVICE_REMINDER_RATE", "20")),
        template_ids=_template_ids(env.get("WECHAT_TEMPLATE_IDS")),
        proxy_hops=int(env.get("MINISERVICE_PROXY_HOPS", "0")),
        pay_keys_dir=Path(env["WECHATPAY_KEYS_DIR"]) if env.get("WECHATPAY_KEYS_DIR") else None,
        pay_api_base=env.get("WECHATPAY_API_BASE") or None,
    )
