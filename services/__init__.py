"""ioc-monitor services: exporter, replay, simulator, publisher, stack control."""
