"""The bind form's privacy notice: its version is what a citizen consented to, stored with the binding.

Change the notice's wording (``templates/h5/privacy_notice.html``) → change :data:`PRIVACY_VERSION`, so
every binding says which wording its holder read. A form rendered with an older notice is refused
and shown the new one.
"""

from __future__ import annotations

PRIVACY_VERSION = "2026-12-01"
