"""The capacity criteria, one module per group of the seed: ``ram``, ``cpu`` (one server's
series) and ``server`` (the fleet); ``common`` holds what the server criteria share. Every
criterion registers itself in ``infra_review.criteria.registry``."""
