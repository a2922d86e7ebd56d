"""An orders service as an MCP server: look an order up, refund it, and a ledger of every call.

Run it over stdio (how an agent's ``mcp_stdio`` starts it) or streamable HTTP::

    python -m examples.orders_mcp                       # stdio
    python -m examples.orders_mcp --http --port 8765    # http://127.0.0.1:8765/mcp

Demo orders are ``ORD-SAAAAA``: ``S`` is the status (1 placed, 2 processing, 3 shipped, 4 delivered,
5 cancelled), ``AAAAA`` the total in EUR. A refund is made once per idempotency key (the request's
``_meta.idempotency_key``, which the engine derives per call and keeps across retries and replays), so
a call delivered twice (a crash between the call and its record) refunds once and answers the same.

The ledger (SQLite, the ``ORDERS_MCP_LEDGER`` setting names it) records every call the server receives
and every refund it makes: ``python -m examples.orders_mcp.ledger <file>`` prints its counts.
"""
