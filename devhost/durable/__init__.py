"""The Durable Functions runtime: the task hub (work queue, episodes, group commits, recovery) over its
store, orchestrator episodes replayed on their history, activities, entities, durable timers, retries,
versions and rewind, as the Durable extension runs them."""
