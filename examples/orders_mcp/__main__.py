"""``python -m examples.orders_mcp [--http [--host H] [--port P]]``: the orders MCP server."""

from __future__ import annotations

import argparse

from examples.orders_mcp.server import server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.orders_mcp", description=__doc__)
    parser.add_argument(
        "--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp (default: stdio)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if args.http:
        server.settings.host, server.settings.port = args.host, args.port
        server.run("streamable-http")
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
