"""The logging filter masks anything shaped like an ID number or a mobile number, wherever it is."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from miniservice.citizens.redaction import IdentityRedactingFilter, install_redaction, redact
from tests.citizens.conftest import ALICE

ID = ALICE["id_number"]  # 440305199003070024-like, synthetic


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing to a buffer through a handler with the filter installed."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.citizens.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    install_redaction(logger)
    yield logger, buffer
    logger.removeHandler(handler)


def test_id_numbers_and_phones_in_the_message_are_masked() -> None:
    assert redact(f"bind {ID} phone 13912345678.") == f"bind {ID[:4]}*************{ID[-1:]} phone 139****5678."


def test_lower_case_check_character_is_masked_too() -> None:
    assert redact("11010519491231002x") == "1101*************X"


def test_longer_digit_runs_are_not_mistaken_for_identity_data() -> None:
    order = "2026112012345678901234"
    assert redact(f"order {order} and 1391234567890") == f"order {order} and 1391234567890"


def test_arguments_are_masked_after_formatting(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.warning("person %s with phone %s failed", ID, "13912345678")
    written = buffer.getvalue()
    assert ID not in written and "13912345678" not in written
    assert "139****5678" in written and ID[:4] + "**********" in written


def test_a_traceback_that_echoes_an_id_number_is_masked(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    try:
        raise ValueError(f"duplicate key (id_number)=({ID})")
    except ValueError:
        logger.exception("insert failed")
    written = buffer.getvalue()
    assert "Traceback" in written and "duplicate key" in written and ID not in written


def test_installing_twice_adds_one_filter(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, _ = log
    install_redaction(logger)
    handler = logger.handlers[-1]
    assert sum(isinstance(f, IdentityRedactingFilter) for f in handler.filters) == 1


def test_a_record_with_a_broken_format_is_kept_not_lost(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.warning("broken %d", "not a number " + ID)
    assert "broken %d" in buffer.getvalue()
