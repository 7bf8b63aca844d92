"""The local service stack without Docker: Kafka, Redis, Prometheus, Alertmanager."""
