"""网上缴费: a citizen pays a frozen quote inside WeChat, the gap closes, every 分 is reconciled.

``orders`` freezes a quote into a payment order; ``channels`` is the small interface a collecting
channel implements (``wechatpay`` first); ``settlement`` applies a verified payment once per
transaction id or holds it for staff; ``reconcile`` compares the orders with the channel's daily bill.
See docs/payments.md.
"""
