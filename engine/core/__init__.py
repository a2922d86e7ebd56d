"""The programming model and the routing core: executors, approvals, graphs, and superstep semantics.

The bottom layer: it imports nothing else of ``engine`` and no host SDK, so both runners build on it.
"""
