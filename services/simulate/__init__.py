"""The simulated province: seeded dossier plans, event streams and hostile noise."""
