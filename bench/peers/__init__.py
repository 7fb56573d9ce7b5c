"""What a bureau would deploy instead of miniservice, served beside it by ``python -m bench.callback --peers``.

- :mod:`bench.peers.werobot_app`: WeRoBot 1.13.1, the most used Python 公众号 framework, with its default
  session storage (SQLite, one session row written per message) or with sessions off (the framework floor).
- :mod:`bench.peers.typical_app`: a typical Flask + wechatpy + SQLAlchemy app of the kind open-source
  公众号 projects are: verify, decrypt, parse, store each message as an ORM row, reply with text. No
  de-duplication, so a retried delivery is stored twice.

Both answer the same menu keys and keywords with fixed texts: the peers do less than the service (no
records, no quotes), which is the point of comparing with them.
"""

# What every peer answers: the service's real menu keys and the keyword 帮助.
REPLIES = {
    "RECORDS": "您的医保缴费记录请在个人中心查看。",
    "QUOTE": "补缴测算请到服务大厅办理。",
    "HELP": "回复“帮助”查看菜单说明。",
    "CHANNELS": "办理渠道：线上、线下均可。",
    "REMINDERS_ON": "已为您开启断缴提醒。",
}
TEXT_REPLY = "您好，菜单说明：缴费记录、补缴测算、办理渠道。"
