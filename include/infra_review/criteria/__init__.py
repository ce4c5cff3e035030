"""What every criterion of every review shares: the criteria file (``rules``), the result
with its evidence (``result``), the registry of criteria (``registry``) and the evidence keys
the reporting views read (``evidence``). The criteria themselves live with their review
(``capacity.criteria``, ``provider``)."""
