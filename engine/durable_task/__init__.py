"""The Durable Task runner: the engine on durabletask-python (Durable Task Scheduler, Dapr, a sidecar)."""
