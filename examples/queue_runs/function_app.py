"""The project's workflows, plus one workflow run per Storage queue message.

A queue-triggered function starts an ``expense_claim`` run for each message on the ``expense-claims``
queue, through the durable client binding, as any Functions app would. It is an app of its own, not part
of the project's ``function_app.py``: a queue trigger needs Azurite (or a storage account), and the
project's app must keep running with ``make serve`` on machines without Node.js.

Run it with ``python -m devhost --app-dir examples/queue_runs`` (devhost starts Azurite) or ``func start``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

# The project's engine and workflows sit two folders up; a deployed app ships them beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.durable.checkpoint import OrchestratorInput
from engine.functions.app import WorkflowApp
from workflows import served

QUEUE = "expense-claims"
WORKFLOW = "expense_claim"

logger = logging.getLogger("function_app")
workflows, problems = served()
for module, problem in problems.items():
    logger.error("Workflow module %s failed to load and is not served: %s", module, problem)
workflow_app = WorkflowApp(workflows)
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(workflow_app.blueprint)


@app.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def claim_from_queue(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """One run per message, its id taken from the message's: a message delivered again (after a crash
    between the start and the delete) finds its run already there instead of starting a second one."""
    workflow = workflow_app.workflows[WORKFLOW]
    # An invalid claim raises: the message is retried, then lands in expense-claims-poison.
    claim = workflow.validate_input(msg.get_json())
    instance_id = f"queue-{msg.id}"
    if (await client.get_status(instance_id)).runtime_status is not None:
        logger.info("Message %s already started run %s", msg.id, instance_id)
        return
    payload = OrchestratorInput.start(
        workflow.start_node.input_adapter.dump_python(claim, mode="json"), workflow=workflow
    )
    await client.start_new(WORKFLOW, instance_id, payload.model_dump(mode="json"))
    logger.info("Message %s started run %s", msg.id, instance_id)
