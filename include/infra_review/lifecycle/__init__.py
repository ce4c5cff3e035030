"""What happens to a decision after its review: states, events, confirmation by the next
review, the inputs fingerprint that tells a rerun from a new review, and who triggered it."""
