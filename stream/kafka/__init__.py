"""The Kafka transport: clients, their configuration, and offset bookkeeping."""
