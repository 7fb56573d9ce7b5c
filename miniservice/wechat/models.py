"""What the WeChat side of the service stores: followers, handled deliveries, the shared token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime


class Follower(SQLModel, table=True):
    """A WeChat user of the account, known by openid; bound to a person by the citizens package."""

    __tablename__ = "follower"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True, index=True)
    subscribed: bool = True
    subscribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unsubscribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_enabled: bool = True
    # Set when WeChat says a message can never reach this user (43004, invalid openid).
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboundDelivery(SQLModel, table=True):
    """One delivery from WeChat. The unique ``dedupe_key`` is what makes a retry a no-op."""

    __tablename__ = "inbound_delivery"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    openid: str = Field(max_length=64, index=True)
    msg_type: str = Field(max_length=32)
    event: str | None = Field(default=None, max_length=64)
    event_key: str | None = Field(default=None, max_length=1024)
    received_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime, index=True)
    handler: str | None = Field(default=None, max_length=64)
    reply: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    failed: bool = False


class TapCount(SQLModel, table=True):
    """Read-only taps per hour (they leave no delivery row): what the dashboard adds to the deliveries."""

    __tablename__ = "tap_count"

    hour: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    taps: int = 0
    failed: int = 0


class CallbackNonce(SQLModel, table=True):
    """A (timestamp, nonce) pair of a signed callback URL and the body it was first used with
    (:mod:`miniservice.wechat.replay`); kept for ten minutes when Redis does not keep it."""

    __tablename__ = "callback_nonce"

    pair: str = Field(primary_key=True, max_length=80)
    digest: str = Field(max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ApiToken(SQLModel, table=True):
    """The access token shared by every process when Redis is not configured."""

    __tablename__ = "api_token"

    app_id: str = Field(primary_key=True, max_length=64)
    token: str | None = Field(default=None, max_length=600)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
