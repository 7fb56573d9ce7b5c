"""Every table, imported in one place so Alembic and the tests see the whole schema.

Each capability keeps its models in its own package; add its module here when it gains tables.
"""

from sqlmodel import SQLModel

from miniservice.admin import models as admin_models
from miniservice.audit import models as audit_models
from miniservice.citizens import models as citizen_models
from miniservice.family import models as family_models
from miniservice.outbox import models as outbox_models
from miniservice.payments import models as payment_models
from miniservice.reminders import models as reminder_models
from miniservice.rulebook import models as rulebook_models
from miniservice.wechat import models as wechat_models

metadata = SQLModel.metadata

__all__ = [
    "admin_models",
    "audit_models",
    "citizen_models",
    "family_models",
    "metadata",
    "outbox_models",
    "payment_models",
    "reminder_models",
    "rulebook_models",
    "wechat_models",
]
