"""The app's functions: function_app.py imported and indexed as the worker does it, which bindings devhost
runs and how it refuses the others, names matched in any case, @app.retry, and the functions devhost's own
trigger listeners call."""
