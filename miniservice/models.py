"""Every table, imported in one place so Alembic and the tests see the whole schema.

Each capability keeps its models in its own package; add its module here when it gains tables.
"""

from sqlmodel import SQLModel

from miniservice.audit import models as audit_models
from miniservice.citizens import models as citizen_models
from miniservice.wechat import models as wechat_models

metadata = SQLModel.metadata

__all__ = ["audit_models", "citizen_models", "metadata", "wechat_models"]
