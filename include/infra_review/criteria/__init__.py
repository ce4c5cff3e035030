"""Decision criteria from section 02.04.04 of the seed, as pure functions with evidence."""
