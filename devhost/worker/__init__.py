"""The Python worker's part: calling a user function with its bindings by parameter name (invocation), and
converting between the host's typed data and a parameter's value, as azure-functions-python-worker does."""
