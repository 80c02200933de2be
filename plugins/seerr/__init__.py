"""Built-in seerr plugin."""
