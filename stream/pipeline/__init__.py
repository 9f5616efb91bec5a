"""Pure processing steps: Kafka records (stream/records.py) in, messages to produce out. No
I/O, no clock of their own (it is passed in), so every step is tested without a broker."""
