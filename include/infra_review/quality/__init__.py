"""The data-quality gate: nothing is decided on data that failed it."""
