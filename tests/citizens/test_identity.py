"""ID numbers (GB 11643), masking, the vault's encryption and keyed hash, and what reaches the disk."""

from __future__ import annotations

import base64
import hmac
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from sqlalchemy import select

from miniservice.citizens.identity import (
    IdentityVault,
    InvalidIdentity,
    Key,
    id_check_char,
    mask_id_number,
    mask_name,
    mask_phone,
    normalise_name,
    normalise_phone,
    parse_id_number,
)
from miniservice.citizens.importing import ImportReport
from miniservice.citizens.models import Person
from miniservice.db import Database
from tests.citizens.conftest import ALICE, BOB, valid_id
from tests.conftest import TEST_DATA_KEY

# GB 11643-1999's own worked example: 11010519491231002 → check character X.
STANDARD_EXAMPLE = "11010519491231002X"


def test_the_standards_worked_example_has_check_character_x() -> None:
    assert id_check_char(STANDARD_EXAMPLE[:17]) == "X"
    parsed = parse_id_number(STANDARD_EXAMPLE)
    assert parsed.birth_date == date(1949, 12, 31) and parsed.sex == "F" and parsed.region_prefix == "110105"


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert parse_id_number(" 11010519491231002x ").value == STANDARD_EXAMPLE


@pytest.mark.parametrize("wrong", "0123456789")
def test_every_wrong_check_character_is_refused_with_a_chinese_reason(wrong: str) -> None:
    with pytest.raises(InvalidIdentity, match="校验位"):
        parse_id_number(STANDARD_EXAMPLE[:17] + wrong)


@pytest.mark.parametrize("text", ["", "1101051949123100", "11010519491231002XX", "1101051949123100X2", "abc"])
def test_wrong_length_or_characters_are_refused(text: str) -> None:
    with pytest.raises(InvalidIdentity, match="18 位"):
        parse_id_number(text)


def test_sex_comes_from_the_seventeenth_digit() -> None:
    assert parse_id_number(valid_id("11010519800101001")).sex == "M"
    assert parse_id_number(valid_id("11010519800101002")).sex == "F"


def test_a_leap_day_birth_in_a_leap_year_is_valid() -> None:
    parsed = parse_id_number(valid_id("51010719920229141"))
    assert parsed.birth_date == date(1992, 2, 29)
    assert parse_id_number(valid_id("11010520000229001")).birth_date == date(2000, 2, 29)  # 2000 is a leap year


@pytest.mark.parametrize("first17", ["51010719910229141", "11010519000229001", "11010520230229001"])
def test_a_leap_day_in_a_common_year_is_refused_as_a_date_that_does_not_exist(first17: str) -> None:
    with pytest.raises(InvalidIdentity, match="出生日期不存在"):
        parse_id_number(valid_id(first17))


def test_a_birth_date_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidIdentity, match="出生日期不正确"):
        parse_id_number(valid_id("11010520991231001"))


def test_masking_shows_only_what_the_holder_needs_to_recognise() -> None:
    assert mask_id_number("11010519491231002X") == "1101*************X"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧**娜"
    assert mask_phone("13912345678") == "139****5678"


def test_names_and_phones_are_normalised_or_refused() -> None:
    assert normalise_name(" 林 小雨 ") == "林小雨"
    assert normalise_phone("139-1234-5678") == "13912345678"
    with pytest.raises(InvalidIdentity):
        normalise_name("林")
    with pytest.raises(InvalidIdentity):
        normalise_phone("12912345678")


def test_encryption_round_trips_and_never_repeats_a_token() -> None:
    vault = IdentityVault(TEST_DATA_KEY)
    first, second = vault.encrypt(ALICE["id_number"]), vault.encrypt(ALICE["id_number"])
    assert first != second and ALICE["id_number"] not in first
    assert vault.decrypt(first) == vault.decrypt(second) == ALICE["id_number"]


def test_another_data_key_can_neither_decrypt_nor_reproduce_the_lookup_hash() -> None:
    vault, other = IdentityVault(TEST_DATA_KEY), IdentityVault("y" * 43 + "=")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        other.decrypt(vault.encrypt(ALICE["id_number"]))
    assert vault.lookup_hash(ALICE["id_number"]) == vault.lookup_hash(ALICE["id_number"].lower())
    assert vault.lookup_hash(ALICE["id_number"]) != other.lookup_hash(ALICE["id_number"])


def test_the_legacy_key_keeps_its_unprefixed_tokens_and_hashes() -> None:
    """Deployments with only MINISERVICE_DATA_KEY keep reading and finding what they stored."""
    vault = IdentityVault(TEST_DATA_KEY)
    master = base64.urlsafe_b64decode(TEST_DATA_KEY)
    hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"miniservice identity lookup").derive(master)
    expected = hmac.new(hash_key, ALICE["id_number"].encode(), "sha256").hexdigest()
    assert vault.lookup_hash(ALICE["id_number"]) == expected
    assert vault.encrypt(ALICE["id_number"]).startswith("gAAAAA")


def test_tokens_and_hashes_name_their_key_and_older_keys_still_read_and_match() -> None:
    new, newer = Key("d1", "a" * 43 + "="), Key("d2", "b" * 43 + "=")
    old_vault = IdentityVault(TEST_DATA_KEY)
    vault = IdentityVault(TEST_DATA_KEY, data_keys=[newer, new], lookup_keys=[Key("l1", "c" * 43 + "=")])
    token = vault.encrypt(ALICE["id_number"])
    assert token.startswith("d2:") and vault.is_current_token(token)
    assert not vault.is_current_token(old_vault.encrypt("x"))
    assert vault.decrypt(old_vault.encrypt(ALICE["name"])) == ALICE["name"]
    assert vault.decrypt(IdentityVault(data_keys=[new], lookup_keys=[new]).encrypt("林")) == "林"
    digests = vault.lookup_hashes(ALICE["id_number"])
    assert digests == [vault.lookup_hash(ALICE["id_number"]), old_vault.lookup_hash(ALICE["id_number"])]
    assert digests[0].startswith("l1:") and len(digests[0]) == 3 + 64


def test_the_lookup_key_is_separate_from_the_data_key() -> None:
    data = [Key("d1", "a" * 43 + "=")]
    one = IdentityVault(data_keys=data, lookup_keys=[Key("l1", "c" * 43 + "=")])
    other = IdentityVault(data_keys=data, lookup_keys=[Key("l1", "e" * 43 + "=")])
    assert other.decrypt(one.encrypt(ALICE["id_number"])) == ALICE["id_number"]
    assert one.lookup_hash(ALICE["id_number"]) != other.lookup_hash(ALICE["id_number"])


def test_a_token_of_a_key_no_longer_configured_names_the_key_not_the_data() -> None:
    token = IdentityVault(data_keys=[Key("d9", "a" * 43 + "=")], lookup_keys=[Key("l9", "a" * 43 + "=")]).encrypt(
        ALICE["id_number"])
    with pytest.raises(ValueError, match="'d9', which is not configured") as error:
        IdentityVault(TEST_DATA_KEY).decrypt(token)
    assert ALICE["id_number"] not in str(error.value)


def test_imported_people_are_stored_encrypted_hashed_and_masked(
    ctx: Flask, db: Database, registry: ImportReport
) -> None:
    vault = IdentityVault(TEST_DATA_KEY)
    with db.reading() as session:
        alice = session.execute(
            select(Person).where(Person.id_number_hash == vault.lookup_hash(ALICE["id_number"]))
        ).scalar_one()
    assert vault.decrypt(alice.name_cipher) == ALICE["name"] and vault.decrypt(alice.phone_cipher) == ALICE["phone"]
    assert alice.id_number_masked == mask_id_number(ALICE["id_number"]) and alice.name_masked == "林*雨"
    assert vault.id_number(alice.id_number_cipher).birth_date == date(1990, 3, 7)
    assert vault.id_number(alice.id_number_cipher).sex == "F"


def test_no_clear_identity_value_is_anywhere_in_the_database_file(
    ctx: Flask, db: Database, registry: ImportReport
) -> None:
    if not db.is_sqlite:
        pytest.skip("reads the SQLite file itself")
    db.dispose()  # checkpoint the WAL into the main file
    path = Path(db.url.split("///", 1)[1])
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert len(raw) > 10_000
    for person in (ALICE, BOB):
        for value in person.values():
            assert value.encode() not in raw, "clear identity value on disk"
    assert b"1101**********" in raw  # masked values are stored; the scan does see the data
