"""Why a quote cannot be given: bad input (one field), or rules the operator has not loaded."""

from __future__ import annotations

LOAD_HINT = "run `miniservice policies load` to store the policies directory as rule versions"


class BadParameter(ValueError):
    """One input is wrong; ``field`` names it (API: the query parameter; form: the input)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class QuoteUnavailable(RuntimeError):
    """No quote can be given whatever the input: ``str(exc)`` is for the operator, not the citizen."""


class RulesNotLoaded(QuoteUnavailable):
    """The database holds no published rule version at all."""

    def __init__(self) -> None:
        super().__init__(f"no rule versions in the database: {LOAD_HINT}")


class SchemaMissing(QuoteUnavailable):
    """The database has no tables yet: ``miniservice init-db`` was never run against it."""

    def __init__(self) -> None:
        super().__init__(f"the database has no tables: run `miniservice init-db`, then {LOAD_HINT}")
