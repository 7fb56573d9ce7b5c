"""家庭共济: a 职工医保 member links close relatives and pays their premiums from the personal account.

``links`` (add, revoke, reminder opt-in), ``consent`` (the relative's answer), ``payments`` (one
transaction per payment), ``dues`` (what is payable, priced by the rules), ``policy`` (the one place
that reads the rules), ``overview`` (what the page shows), ``views`` (the H5 pages), ``wechat_handlers``
(the 家庭共济 keyword). Tables and the reminders opt-in column: :mod:`miniservice.family.models`.
"""
