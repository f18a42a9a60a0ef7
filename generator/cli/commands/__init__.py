"""One module per CLI command; each exports a click command named ``command`` (see generator/cli.py)."""
