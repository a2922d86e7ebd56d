"""What devhost prints: Core Tools style lines for function executions and orchestration state changes,
and the app's own logs, filtered by host.json's log levels."""
