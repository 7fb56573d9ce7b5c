"""Identity data: validated, encrypted at rest, looked up by keyed hash, shown masked.

Both keys come from ``MINISERVICE_DATA_KEY`` through HKDF, so one secret to keep and rotate, and a
leaked database alone reveals neither the ID numbers (Fernet) nor a way to test guesses against the
look-up hashes (HMAC with a key the database does not hold).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_ID_RE = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


class InvalidIdentity(ValueError):
    """Bad identity input; ``str(exc)`` is a message a citizen can read (Chinese)."""


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-digit 居民身份证号码 (GB 11643-1999) and what it says about its holder."""

    value: str
    birth_date: date
    sex: str  # "M" / "F"
    region_prefix: str

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def parse_id_number(text: str) -> IdNumber:
    """Validate length, birth date and check digit; a lower-case x is accepted and normalised."""
    value = (text or "").strip().upper()
    if not _ID_RE.match(value):
        raise InvalidIdentity("身份证号码应为 18 位（最后一位可为 X）。")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdentity("身份证号码中的出生日期不存在，请核对。") from exc
    if born.year < 1900 or born > date.today():
        raise InvalidIdentity("身份证号码中的出生日期不正确，请核对。")
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _WEIGHTS, strict=True))
    if _CHECK_CHARS[total % 11] != value[17]:
        raise InvalidIdentity("身份证号码校验位不正确，请核对是否输错。")
    return IdNumber(value=value, birth_date=born, sex="M" if int(value[16]) % 2 else "F", region_prefix=value[:6])


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits (used to build valid numbers for demo data)."""
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_name(text: str) -> str:
    name = re.sub(r"\s+", "", text or "")
    if not 2 <= len(name) <= 30 or not re.match(r"^[\u4e00-\u9fff·A-Za-z]+$", name):
        raise InvalidIdentity("姓名应为 2 到 30 个汉字或字母。")
    return name


def normalise_phone(text: str) -> str:
    phone = re.sub(r"[\s-]", "", text or "")
    if not _PHONE_RE.match(phone):
        raise InvalidIdentity("手机号码应为 11 位数字。")
    return phone


def mask_id_number(value: str) -> str:
    """``110105199001011234`` → ``1101**********1234``."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``: enough for the holder to recognise, no more."""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


class IdentityVault:
    """Encryption and keyed hashing of identity data with keys derived from the data key."""

    def __init__(self, data_key: str) -> None:
        try:
            master = base64.urlsafe_b64decode(data_key + "=" * (-len(data_key) % 4))
        except ValueError as exc:
            raise ValueError("MINISERVICE_DATA_KEY must be urlsafe base64 of at least 32 bytes") from exc
        if len(master) < 32:
            raise ValueError("MINISERVICE_DATA_KEY must be urlsafe base64 of at least 32 bytes")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"miniservice identity encryption")))
        self._hash_key = _derive(master, b"miniservice identity lookup")

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("identity data cannot be decrypted with this MINISERVICE_DATA_KEY") from exc

    def lookup_hash(self, value: str) -> str:
        """Same input, same hash, for exact look-ups (ID number, 医保卡号); useless without the key."""
        return hmac.new(self._hash_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def get_vault() -> IdentityVault:
    """The current app's vault (built once per app from its data key)."""
    vault = current_app.extensions.get("miniservice.vault")
    if vault is None:
        vault = IdentityVault(current_app.extensions["miniservice.settings"].data_key)
        current_app.extensions["miniservice.vault"] = vault
    return vault
