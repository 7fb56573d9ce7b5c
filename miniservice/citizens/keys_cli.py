"""``miniservice rotate-data-key``: move identity data to the current keys (docs/security.md)."""

from __future__ import annotations

import click

from miniservice.citizens.identity import get_vault
from miniservice.citizens.rotation import RotationProgress, rotate_identity_keys, rows_to_move
from miniservice.db import get_db


@click.command("rotate-data-key",
               help="Re-encrypt and re-hash identity data with the first key of MINISERVICE_DATA_KEYS and "
                    "MINISERVICE_LOOKUP_KEYS, in batches, while the service runs; safe to interrupt and re-run.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="People per transaction.")
@click.option("--check", is_flag=True, help="Only count the people still under an older key (exit 1 if any).")
def rotate_data_key_command(batch_size: int, check: bool) -> None:
    from miniservice.cli import make_app

    app = make_app()
    with app.app_context():
        db, vault = get_db(), get_vault()
        if not check:
            def report(progress: RotationProgress) -> None:
                click.echo(f"checked {progress.checked}, moved {progress.moved}, "
                           f"changed meanwhile {progress.changed_meanwhile} (up to person #{progress.last_id})")

            rotate_identity_keys(db, vault, batch_size=batch_size, after_batch=report)
        stale, total = rows_to_move(db, vault)
    click.echo(f"{stale} of {total} people still under an older key "
               f"(current data key {vault.data_key_id or '(legacy)'}, look-up key {vault.lookup_key_id or '(legacy)'})")
    if stale:
        raise SystemExit(1)


commands = [rotate_data_key_command]
