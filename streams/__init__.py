"""ioc-monitor Faust app and agents."""
