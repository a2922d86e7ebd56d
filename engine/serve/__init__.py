"""The workflow HTTP API hosted without Azure Functions (python -m engine serve)."""
