"""The handoff map: actors (teams, people, AI, external systems) and the work between them."""
