"""The Functions app layer: the blueprint, the workflow HTTP API, OpenAPI, dashboard, approval links."""
