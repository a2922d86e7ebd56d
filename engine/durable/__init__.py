"""The durable runner: the orchestrator replaying a workflow graph and the step activity.

It reaches the Durable Functions SDK only through ``engine.durable.context`` (the seam), so a second
durable backend is one adapter module.
"""
