"""Bad-buzz detection: event-time windows, the rules, the per-scope detector, its state store,
and the offline evaluation against human labels."""
