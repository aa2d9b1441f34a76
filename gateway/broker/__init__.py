"""RabbitMQ edge: topology, the outbox relay, the status collector, dead letters."""
