"""The Redis state store: key layout, clients, batch writer, scrape reader, Lua scripts."""
