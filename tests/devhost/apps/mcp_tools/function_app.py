"""A plain azure-functions app with MCP tools, declared the three ways the SDK offers (as Azure-Samples'
remote-mcp-functions-python declares them): the generic trigger, ``mcp_tool_trigger`` with its
``toolProperties`` JSON, and the ``mcp_tool`` decorator that reads the function's signature."""

import json

import azure.functions as func
from mcp import types

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

NOTES: dict[str, str] = {}


@app.generic_trigger(
    arg_name="context",
    type="mcpToolTrigger",
    toolName="hello_mcp",
    description="Hello world.",
    toolProperties="[]",
)
def hello_mcp(context) -> str:
    return "Hello I am MCPTool!"


NOTE_PROPERTIES = json.dumps(
    [
        {"propertyName": "name", "propertyType": "string", "description": "its name", "isRequired": True},
        {"propertyName": "text", "propertyType": "string", "description": "the note", "isRequired": True},
    ]
)


@app.mcp_tool_trigger(
    arg_name="context", tool_name="save_note", description="Save a note.", tool_properties=NOTE_PROPERTIES
)
def save_note(context: str) -> str:
    arguments = json.loads(context)["arguments"]
    if not arguments.get("name"):
        raise ValueError("name: a note needs a name")
    NOTES[arguments["name"]] = arguments["text"]
    return f"saved {arguments['name']}"


@app.mcp_tool()
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


@app.mcp_tool()
def measure(n: int) -> types.CallToolResult:
    """A result with structured content (the worker's call_tool_result)."""
    text = types.TextContent(type="text", text=f"n={n}")
    return types.CallToolResult(content=[text], structuredContent={"n": n, "double": 2 * n})


@app.mcp_resource_trigger(arg_name="context", uri="file://notes/readme", resource_name="readme")
def readme(context) -> str:
    return "a resource"


@app.mcp_prompt_trigger(arg_name="context", prompt_name="summarize")
def summarize(context) -> str:
    return "Summarize the notes."
