"""Built-in radarr plugin."""
