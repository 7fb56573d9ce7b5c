"""Keep identity data out of the logs, whatever a library or a careless line of code puts there.

Our own code never logs ID numbers or phone numbers, but exception messages do: a database driver
echoes the parameters of a failed INSERT, a form library echoes the value it rejected. A filter on
the *handlers* sees every record that reaches a log file, from any logger, after its message and
traceback are known; it rewrites anything shaped like an 18-digit ID number or an 11-digit mobile
number into its masked form (``1101*************X``, ``138****5678``).

``create_app`` installs it with :func:`install_redaction` once logging is configured.
"""

from __future__ import annotations

import logging
import re
import traceback

from miniservice.citizens.identity import mask_id_number, mask_phone

# Digit runs that are not part of a longer number: an order id of 25 digits is left alone.
_ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE_SHAPE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def redact(text: str) -> str:
    """``text`` with every ID-number- or phone-shaped run masked."""
    text = _ID_SHAPE.sub(lambda m: mask_id_number(m.group(0).upper()), text)
    return _PHONE_SHAPE.sub(lambda m: mask_phone(m.group(0)), text)


class IdentityRedactingFilter(logging.Filter):
    """A handler filter that masks ID numbers and phone numbers in message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: show the template, never lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(*loggers: logging.Logger) -> IdentityRedactingFilter:
    """Add the filter to every handler of ``loggers`` (default: the root logger); safe to repeat."""
    the_filter = IdentityRedactingFilter()
    for logger in loggers or (logging.getLogger(),):
        for handler in logger.handlers:
            if not any(isinstance(f, IdentityRedactingFilter) for f in handler.filters):
                handler.addFilter(the_filter)
    return the_filter
