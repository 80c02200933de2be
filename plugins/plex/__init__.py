"""Built-in plex plugin."""
