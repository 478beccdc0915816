"""The browser flow editor: canvas shape, step property forms, publish diff, YAML tab."""
