"""Step kinds: one executor per kind, registered by name (see registry.py)."""
