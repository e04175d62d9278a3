"""Adapters to the outside world: the Vietnamese calendar, rulebook files, storage, settings."""
