"""ioc-monitor core: the event contract, the unit registry and the pure KPI rules."""

__all__ = ["__version__"]

__version__ = "0.1.0"
