"""Generated operations layer: Prometheus rules, Alertmanager config, Grafana boards."""
