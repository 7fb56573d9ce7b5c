"""Identity data: validated, encrypted at rest, looked up by keyed hash, shown masked.

A leaked database alone reveals neither the ID numbers (Fernet) nor a way to test guesses against
the look-up hashes (HMAC with a key the database does not hold), and nothing stored in clear narrows
an ID number down: the birth date and sex are read from the decrypted number when a rule needs them
(:meth:`IdentityVault.id_number`), and the mask hides the birth date and the sequence digits.
Encryption and look-up have separate keys with ids, so either can rotate (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
    """``110105199001011234`` → ``1101*************4``: the city and the last character, no more.

    The birth date (digits 7–14) and the sequence (15–17) stay hidden: a plain date elsewhere in
    the database (``retired_on`` is about the statutory age after the birth month) gives away the
    birth month, and with the old last four digits that left about three candidates for the number.
    """
    return value[:4] + "*" * (len(value) - 5) + value[-1:]


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``: enough for the holder to recognise, no more."""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


LEGACY_KEY_ID = ""  # tokens and hashes made with ``MINISERVICE_DATA_KEY`` carry no key id
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_ENCRYPTION_INFO = b"miniservice identity encryption"
_LOOKUP_INFO = b"miniservice identity lookup"


@dataclass(frozen=True)
class Key:
    """A named secret: ``key_id`` travels with every token and hash it makes, so keys can rotate."""

    key_id: str
    secret: str


class IdentityVault:
    """Encryption and keyed hashing of identity data, each with its own ring of named keys.

    The first key of each ring is current: it encrypts and hashes everything new. The others only
    decrypt and match, which is what lets ``miniservice rotate-data-key`` move rows over while the
    service keeps finding everyone. A token reads ``<key id>:<Fernet token>`` and a hash
    ``<key id>:<hex>``; those of the legacy key (``MINISERVICE_DATA_KEY``) carry no prefix, so data
    written before key ids existed stays readable.
    """

    def __init__(self, data_key: str | None = None, *, data_keys: Sequence[Key] = (),
                 lookup_keys: Sequence[Key] = ()) -> None:
        legacy = [Key(LEGACY_KEY_ID, data_key)] if data_key else []
        encryption, lookup = [*data_keys, *legacy], [*lookup_keys, *legacy]
        if not encryption or not lookup:
            raise ValueError("identity data needs MINISERVICE_DATA_KEY, or MINISERVICE_DATA_KEYS and "
                             "MINISERVICE_LOOKUP_KEYS")
        self._fernets = {key.key_id: Fernet(base64.urlsafe_b64encode(_derive(key, _ENCRYPTION_INFO)))
                         for key in _checked(encryption, "MINISERVICE_DATA_KEYS")}
        self._hash_keys = {key.key_id: _derive(key, _LOOKUP_INFO)
                           for key in _checked(lookup, "MINISERVICE_LOOKUP_KEYS")}
        self.data_key_id, self.lookup_key_id = encryption[0].key_id, lookup[0].key_id

    def encrypt(self, text: str) -> str:
        return _with_id(self.data_key_id, self._fernets[self.data_key_id].encrypt(text.encode()).decode())

    def decrypt(self, token: str) -> str:
        key_id, body = _split(token)
        fernet = self._fernets.get(key_id)
        if fernet is None:
            raise ValueError(f"identity data sealed with key id {key_id or '(legacy)'!r}, which is not configured")
        try:
            return fernet.decrypt(body.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("identity data cannot be decrypted with the configured data keys") from exc

    def id_number(self, token: str) -> IdNumber:
        """The stored ID number and what it says (birth date, sex): the only place those are kept."""
        return parse_id_number(self.decrypt(token))

    def lookup_hash(self, value: str) -> str:
        """Same input, same hash, for exact look-ups (ID number, 医保卡号); useless without the key."""
        return self._hash(self.lookup_key_id, value)

    def lookup_hashes(self, value: str) -> list[str]:
        """The hash under every look-up key, current first: a look-up matches rows not yet rotated."""
        return [self._hash(key_id, value) for key_id in self._hash_keys]

    def is_current_token(self, token: str) -> bool:
        return _split(token)[0] == self.data_key_id

    def is_current_hash(self, digest: str) -> bool:
        return _split(digest)[0] == self.lookup_key_id

    def _hash(self, key_id: str, value: str) -> str:
        digest = hmac.new(self._hash_keys[key_id], value.strip().upper().encode(), hashlib.sha256).hexdigest()
        return _with_id(key_id, digest)


def _checked(keys: list[Key], variable: str) -> list[Key]:
    seen: set[str] = set()
    for key in keys:
        if key.key_id != LEGACY_KEY_ID and not KEY_ID_RE.match(key.key_id):
            raise ValueError(f"{variable}: a key id is 1 to 16 letters, digits, '-' or '_'")
        if key.key_id in seen:
            raise ValueError(f"{variable}: key id {key.key_id!r} appears twice")
        seen.add(key.key_id)
    return keys


def _with_id(key_id: str, body: str) -> str:
    return f"{key_id}:{body}" if key_id else body


def _split(value: str) -> tuple[str, str]:
    key_id, sep, body = value.partition(":")
    return (key_id, body) if sep else (LEGACY_KEY_ID, value)


def _derive(key: Key, info: bytes) -> bytes:
    try:
        master = base64.urlsafe_b64decode(key.secret + "=" * (-len(key.secret) % 4))
    except ValueError as exc:
        raise ValueError("identity keys must be urlsafe base64 of at least 32 bytes") from exc
    if len(master) < 32:
        raise ValueError("identity keys must be urlsafe base64 of at least 32 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
