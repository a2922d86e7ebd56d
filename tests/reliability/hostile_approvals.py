"""A hostile-approval campaign: every way we know to answer an approval without the right to, tried
against a real devhost (``python -m devhost`` as a subprocess), with and without ``--require-keys``.

Each attempt targets a fresh pending approval of the test workflows in ``tests/durable/graphs.py``:
``t_restricted`` (approvers alice and the finance role) and ``t_approval`` (no named approvers). After
each, the run is read back through the workflow API: an attempt is *wrongly accepted* when the
approval closed, a forged name shows up as the decider, or the run changed state; and the attempt
*failed or stuck* the run when a rightful answer afterwards does not complete it. Attacks include the
run's lifecycle: a link or a captured envelope replayed on a new run that reuses a purged run's id, a run
started through the Durable management API with unsigned envelopes raised into it, and malformed
envelopes naming the app's real key id. The campaign also rotates the signing key between an answer and
its replay, checks that recorded decisions read the same with the old key gone, and that links already
sent keep working across a rotation until their key is dropped.

    python -m tests.reliability.hostile_approvals [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devhost.testing import DevHostProcess
from engine.durable.answers import AnswerEnvelope, Binding, signed_envelope
from engine.durable.signing_keys import SigningKeys, key_id
from engine.functions.approval_tokens import issue
from tests.durable.conftest import restart_with, signing_host
from tests.durable.http import Reply, call, get, post, wait_for

ROOT = Path(__file__).resolve().parents[2]
KEY = "hostile-campaign-signing-key"
SETTINGS = {"WORKFLOW_MODULES": "tests.durable.graphs", "APPROVAL_SIGNING_KEY": KEY}
REQUEST = {"item": "laptop", "amount": 1200}


@dataclass
class Target:
    """A run waiting on one approval, and what it looked like before the attempt."""

    workflow: str
    run: str
    instance: str
    pending: dict[str, Any]
    started: dict[str, Any]


@dataclass
class Report:
    mode: str
    attempts: int = 0
    wrongly_accepted: int = 0
    failed_or_stuck: int = 0  # runs an attacker failed, or left unable to take a rightful answer
    failures: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "attempts": self.attempts,
            "wrongly_accepted": self.wrongly_accepted,
            "failed_or_stuck": self.failed_or_stuck,
            "failures": self.failures,
            "attempt_names": self.names,
        }


def keys_of(secret: bytes) -> SigningKeys:
    return SigningKeys((key_id(secret), secret), {key_id(secret): secret})


def principal(name: str, roles: tuple[str, ...] = ()) -> dict[str, str]:
    claims = [{"typ": "name", "val": name}, *({"typ": "roles", "val": r} for r in roles)]
    data = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(data).encode()).decode()}


class Campaign:
    def __init__(self, host: DevHostProcess, report: Report, keys: dict[str, str]) -> None:
        self.host = host
        self.report = report
        self.keys = keys  # function and master keys, when devhost requires them
        self.api = f"{host.base_url}/api/workflows"
        self.queued: list[tuple[str, str, Callable[[Target], Any], bool]] = []
        self.lock = threading.Lock()

    # --- plumbing ----------------------------------------------------------------------------------

    def url(self, url: str, *, master: bool = False) -> str:
        key = self.keys.get("master" if master else "function")
        if not key:
            return url
        return f"{url}{'&' if '?' in url else '?'}code={key}"

    def target(self, workflow: str, instance_id: str | None = None) -> Target:
        query = f"?instanceId={instance_id}" if instance_id else ""
        started = post(self.url(f"{self.api}/{workflow}{query}"), REQUEST)
        assert started.status == 202, started.body
        run = started.body["runUri"]
        view = get(self.url(f"{run}?wait=30")).body
        return Target(workflow, run, started.body["id"], view["pendingApprovals"][0], started.body)

    def raw(self, target: Target, body: Any) -> Reply:
        """An event raised through the start response's ``sendEventPostUri``: it carries no identity."""
        return post(self.event_uri(target), body)

    def event_uri(self, target: Target) -> str:
        return target.started["sendEventPostUri"].replace("{eventName}", target.pending["event_name"])

    def management(self, target: Target, tail: str) -> str:
        return f"{self.host.base_url}/runtime/webhooks/durabletask/instances/{target.instance}{tail}"

    def attempt(
        self, name: str, workflow: str, act: Callable[[Target], Any], *, refused: bool = True
    ) -> None:
        """Queue an attempt; ``run_all`` runs them eight at a time, each on a run of its own."""
        self.queued.append((name, workflow, act, refused))

    def _try(self, name: str, workflow: str, act: Callable[[Target], Any], refused: bool) -> None:
        """Run ``act`` on a fresh target; count it wrongly accepted when the approval moved."""
        with self.lock:
            self.report.attempts += 1
            self.report.names.append(name)
        target = self.target(workflow)
        try:
            reply = act(target)
        except Exception as exc:  # an attempt that crashes the client is not an acceptance
            reply = f"raised {type(exc).__name__}: {exc}"
        request_id = target.pending["request_id"]
        view = get(self.url(f"{target.run}?wait=1&answered={request_id}")).body
        moved = (
            view["runtimeStatus"] != "Running"
            or view["pendingApprovalsTotal"] != 1
            or view["closedApprovals"]
        )
        if refused and (moved or (isinstance(reply, Reply) and reply.status < 300 and reply.status != 202)):
            self.breach(f"{name}: {reply!r:.300} -> {view['runtimeStatus']} {view['closedApprovals']}")
        if refused and not moved:
            self.rightful_answer_decides(name, target)
        post(self.url(f"{target.run}/terminate"))

    def rightful_answer_decides(self, name: str, target: Target) -> None:
        """After an attempt, the run still takes a rightful answer and completes: nothing an attacker sent
        failed it or left it stuck."""
        view = get(self.url(target.run)).body
        pending = view["pendingApprovals"][0]
        respond = pending["respond_uri"]
        if pending["approvers"]:
            issued = post(self.url(pending["links_uri"], master=True), {"for": pending["approvers"][0]})
            respond = issued.body["respond_uri"] if issued.status == 201 else respond
        answered = post(self.url(respond), {"approved": True})
        done = get(self.url(f"{target.run}?wait=30&until=finished")).body
        if answered.status != 202 or done["runtimeStatus"] != "Completed":
            with self.lock:
                self.report.failed_or_stuck += 1
                self.report.failures.append(
                    f"{name}: a rightful answer afterwards got {answered.status}, the run is "
                    f"{done['runtimeStatus']} {done.get('error')}"
                )

    # --- the attempts ------------------------------------------------------------------------------

    def breach(self, what: str) -> None:
        with self.lock:
            self.report.wrongly_accepted += 1
            self.report.failures.append(what)

    def run_all(self) -> None:
        self.queue_all()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(self._try, *queued) for queued in self.queued]:
                future.result()

    def queue_all(self) -> None:
        forged = {"response": {"approved": True}, "decided_by": "ceo", "via": "endpoint"}
        for workflow in ("t_restricted", "t_approval"):
            self.attempt(
                f"{workflow}: forged envelope through sendEventPostUri",
                workflow,
                lambda t: self.raw(t, {"$approval": forged}),
            )
            self.attempt(
                f"{workflow}: forged envelope through the management raiseEvent",
                workflow,
                lambda t: post(
                    self.url(self.management(t, f"/raiseEvent/{t.pending['event_name']}"), master=True),
                    {"$approval": forged},
                ),
            )
            self.attempt(
                f"{workflow}: forged 'via: timeout'",
                workflow,
                lambda t: self.raw(t, {"$approval": {**forged, "via": "timeout"}}),
            )
            self.attempt(
                f"{workflow}: envelope with a made-up key id and signature",
                workflow,
                lambda t: self.raw(t, {"$approval": {**forged, "kid": key_id(b"x"), "sig": "0" * 64}}),
            )
            self.attempt(
                f"{workflow}: envelope signed with another key",
                workflow,
                lambda t: self.raw(t, self.signed(t, b"not-the-apps-key", "ceo")),
            )
            self.attempt(
                f"{workflow}: the app's envelope for another run, replayed",
                workflow,
                lambda t: self.raw(t, self.signed_for_other_run(t)),
            )
            self.attempt(
                f"{workflow}: malformed envelope (via bogus)",
                workflow,
                lambda t: self.raw(t, {"$approval": {**forged, "via": "bogus"}}),
            )
            self.attempt(
                f"{workflow}: envelope that is not an object",
                workflow,
                lambda t: self.raw(t, {"$approval": [1, 2]}),
            )
            self.attempt(
                f"{workflow}: cross-site text/plain answer",
                workflow,
                lambda t: post(
                    self.url(t.pending["respond_uri"]),
                    {"approved": True},
                    headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
                ),
            )
            self.attempt(
                f"{workflow}: forged Host header",
                workflow,
                lambda t: post(
                    self.url(t.pending["respond_uri"]), {"approved": True}, headers={"Host": "evil.example"}
                ),
            )
            for label, token in self.bad_tokens().items():
                self.attempt(
                    f"{workflow}: {label}",
                    workflow,
                    lambda t, make=token: post(
                        self.url(f"{t.pending['respond_uri']}?token={make(t)}"), {"approved": True}
                    ),
                )
            self.attempt(
                f"{workflow}: loose answer 'yes'",
                workflow,
                lambda t: post(self.url(t.pending["respond_uri"]), {"approved": "yes"}),
            )
            self.attempt(
                f"{workflow}: loose raw event 'yes'", workflow, lambda t: self.raw(t, {"approved": "yes"})
            )
        restricted = "t_restricted"
        self.attempt(
            "restricted: anonymous answer",
            restricted,
            lambda t: post(self.url(t.pending["respond_uri"]), {"approved": True}),
        )
        self.attempt(
            "restricted: raw event (no identity)",
            restricted,
            lambda t: post(self.event_uri(t), {"approved": True}),
        )
        self.attempt(
            "restricted: forged principal 'ceo' in role finance",
            restricted,
            lambda t: post(
                self.url(t.pending["respond_uri"]), {"approved": True}, headers=principal("ceo", ("finance",))
            ),
        )
        self.attempt(
            "restricted: a link issued to mallory",
            restricted,
            lambda t: post(self.url(t.pending["links_uri"], master=True), {"for": "mallory"}),
        )
        self.attempt(
            "restricted: a link for no one in particular",
            restricted,
            lambda t: post(self.url(t.pending["links_uri"], master=True), {"for": None}),
        )
        self.attempt(
            "restricted: a link forged for alice with another key",
            restricted,
            lambda t: post(
                self.url(f"{t.pending['respond_uri']}?token={self.token(t, b'other', 'alice')}"),
                {"approved": True},
            ),
        )
        if self.keys:
            self.attempt(
                "restricted: issuing a link with only a function key",
                restricted,
                lambda t: self.issue_with_function_key(t),
            )
        self.attempt(
            "view with a forged principal hands out no right to answer",
            restricted,
            lambda t: self.view_as_forged(t),
        )
        self.attempt("internal durable API on the public port", "t_approval", lambda t: self.internal_api(t))
        self.attempt(
            "a used link, replayed", "t_two_approvals", lambda t: self.replayed_link(t), refused=False
        )
        self.attempt("six concurrent answers", "t_approval", lambda t: self.concurrent(t), refused=False)
        self.queue_lifecycle()
        self.queue_malformed()

    def queue_lifecycle(self) -> None:
        """Links and answers of a run, used on a new run that reuses its id after a purge; runs started
        around the workflow API."""
        restricted = "t_restricted"
        self.attempt(
            "reused id: a used link replayed on the new run", restricted, lambda t: self.reused(t, "used")
        )
        self.attempt("reused id: an unused link carried over", restricted, lambda t: self.reused(t, "unused"))
        self.attempt(
            "reused id: a captured envelope raised into the new run",
            restricted,
            lambda t: self.reused(t, "envelope"),
        )
        for label, body in (
            ("bare message", REQUEST),
            ("input without flags", {"input": REQUEST}),
            ("signed_answers false", {"input": REQUEST, "strict_answers": True, "signed_answers": False}),
        ):
            for workflow in (restricted, "t_approval"):
                self.attempt(
                    f"{workflow}: management-API start ({label}), unsigned envelope with the system key",
                    workflow,
                    lambda t, b=body: self.management_started(t, b),
                )

    def queue_malformed(self) -> None:
        """Envelopes the app's own key id names, malformed as JSON allows and UTF-8 or HMAC do not."""
        kid = key_id(KEY.encode())
        envelopes = {
            "non-ASCII sig": {
                "response": {"approved": True},
                "decided_by": "ceo",
                "kid": kid,
                "sig": "é" * 64,
            },
            "lone surrogate in response": {
                "response": {"approved": True, "comment": "\ud800"},
                "kid": kid,
                "sig": "0" * 64,
            },
            "lone surrogate in decided_by": {
                "response": {"approved": True},
                "decided_by": "\udfff",
                "kid": kid,
                "sig": "0" * 64,
            },
            "surrogate sig": {"response": {"approved": True}, "kid": kid, "sig": "\ud800"},
            "sig of another type": {"response": {"approved": True}, "kid": kid, "sig": {"a": 1}},
        }
        bodies = {label: json.dumps({"$approval": e}).encode() for label, e in envelopes.items()}
        # JSON text deeper than any parser's recursion limit (json.dumps cannot even build it).
        deep = "[" * 5000 + "]" * 5000
        bodies["nested past any limit"] = (
            f'{{"$approval": {{"response": {deep}, "kid": "{kid}", "sig": "0"}}}}'.encode()
        )
        for label, raw in bodies.items():
            for workflow in ("t_restricted", "t_approval"):
                self.attempt(
                    f"{workflow}: malformed envelope with the app's key id ({label})",
                    workflow,
                    lambda t, body=raw: post(
                        self.url(self.management(t, f"/raiseEvent/{t.pending['event_name']}"), master=True),
                        raw=body,
                    ),
                )

    def reused(self, target: Target, what: str) -> Reply:
        """The run is answered through a link to alice (or terminated), purged, and a new run starts under
        its id (with a function key); then the old link, or the envelope the old answer raised, is used."""
        link = post(self.url(target.pending["links_uri"], master=True), {"for": "alice"}).body["respond_uri"]
        if what == "unused":
            post(self.url(f"{target.run}/terminate"))
        else:
            assert post(self.url(link), {"approved": True}).status == 202
        wait_for(self.url(target.run), lambda r: r.body["runtimeStatus"] in ("Completed", "Terminated"))
        envelope = self.recorded_envelope(target) if what == "envelope" else None
        purged = call("DELETE", self.url(self.management(target, ""), master=True))
        assert purged.status == 200, purged.body
        again = self.target(target.workflow, target.instance)
        target.pending, target.started = again.pending, again.started
        if envelope is not None:
            return self.raw(target, envelope)
        return post(self.url(link), {"approved": True})

    def recorded_envelope(self, target: Target) -> Any:
        history = get(
            self.url(self.management(target, "?showHistory=true&showHistoryOutput=true"), master=True)
        )
        raised = next(e for e in history.body["historyEvents"] if e["EventType"] == "EventRaised")
        return json.loads(raised["Input"]) if isinstance(raised["Input"], str) else raised["Input"]

    def management_started(self, target: Target, body: Any) -> Reply:
        """Replaces the target with a run started through the management API (the system key), then
        raises an unsigned envelope naming the CEO into it."""
        post(self.url(f"{target.run}/terminate"))
        wait_for(self.url(target.run), lambda r: r.body["runtimeStatus"] == "Terminated")
        call("DELETE", self.url(self.management(target, ""), master=True))
        started = post(
            self.url(
                f"{self.host.base_url}/runtime/webhooks/durabletask/orchestrators/{target.workflow}/{target.instance}",
                master=True,
            ),
            body,
        )
        assert started.status == 202, started.body
        view = wait_for(self.url(target.run), lambda r: bool(r.body.get("pendingApprovals"))).body
        target.pending = view["pendingApprovals"][0]
        forged = {"response": {"approved": True}, "decided_by": "ceo", "via": "endpoint"}
        return post(
            self.url(self.management(target, f"/raiseEvent/{target.pending['event_name']}"), master=True),
            {"$approval": forged},
        )

    # --- attempt helpers ---------------------------------------------------------------------------

    def run_nonce(self, target: Target) -> str | None:
        status = get(self.url(self.management(target, "?showInput=true"), master=True)).body
        started = json.loads(status["input"]) if isinstance(status["input"], str) else status["input"]
        return started.get("run_nonce")

    def token(self, target: Target, key: bytes, subject: str | None = None, **kw: Any) -> str:
        now = kw.pop("now", datetime.now(UTC))
        return issue(
            keys_of(key),
            instance_id=kw.pop("instance", target.instance),
            run_nonce=kw.pop("run_nonce", self.run_nonce(target)),
            request_id=kw.pop("request", target.pending["request_id"]),
            expires=kw.pop("expires", None),
            now=now,
            subject=subject,
        )

    def bad_tokens(self) -> dict[str, Callable[[Target], str]]:
        old = datetime.now(UTC) - timedelta(days=30)
        key = KEY.encode()
        return {
            "token for another run": lambda t: self.token(t, key, instance="another-run"),
            "token for an earlier run of the id": lambda t: self.token(t, key, "alice", run_nonce="earlier"),
            "token naming no run": lambda t: self.token(t, key, "alice", run_nonce=None),
            "token with a non-ASCII signature": lambda t: (
                self.token(t, key, "alice").split(".")[0] + ".%C3%A9"
            ),
            "token for another request": lambda t: self.token(t, key, request="other-s9-0"),
            "expired token": lambda t: self.token(t, key, expires=old, now=old),
            "token re-signed with another key": lambda t: self.token(t, b"another-key", "alice"),
            "truncated token": lambda t: self.token(t, key, "alice")[:-5],
            "tampered token payload": lambda t: "x" + self.token(t, key, "alice")[1:],
            "garbage token": lambda t: "garbage",
        }

    def signed(self, target: Target, secret: bytes, who: str) -> dict[str, Any]:
        answer = AnswerEnvelope(response={"approved": True}, decided_by=who, answer_id="forged")
        binding = Binding(
            instance_id=target.instance,
            request_id=target.pending["request_id"],
            run_nonce=self.run_nonce(target),
        )
        return signed_envelope(keys_of(secret), binding, answer)

    def signed_for_other_run(self, target: Target) -> dict[str, Any]:
        answer = AnswerEnvelope(response={"approved": True}, decided_by="ceo", answer_id="replayed")
        binding = Binding(instance_id="another-run", request_id=target.pending["request_id"])
        return signed_envelope(keys_of(KEY.encode()), binding, answer)

    def issue_with_function_key(self, target: Target) -> Reply:
        reply = post(self.url(target.pending["links_uri"]), {"for": "alice"})
        return reply if reply.status >= 400 else Reply(200, reply.body, reply.headers)

    def view_as_forged(self, target: Target) -> Reply:
        view = get(self.url(target.run), headers=principal("ceo", ("finance",))).body
        entry = view["pendingApprovals"][0]
        ok = entry["can_answer"] is False and "token=" not in entry["respond_uri"]
        return Reply(403 if ok else 200, entry, {})

    def internal_api(self, target: Target) -> Reply:
        for method, path in (
            ("GET", "/durabletask/instances"),
            ("POST", f"/durabletask/instances/{target.instance}/raiseEvent/{target.pending['event_name']}"),
            ("POST", f"/durabletask/instances/{target.instance}/terminate?reason=x"),
        ):
            reply = call(
                method, f"{self.host.base_url}{path}", {"approved": True} if method == "POST" else None
            )
            if reply.status < 400:
                return Reply(200, {"answered": path}, {})
        return Reply(404, None, {})

    def replayed_link(self, target: Target) -> Reply:
        link = post(self.url(target.pending["links_uri"], master=True), {"for": "dana"}).body["respond_uri"]
        assert post(self.url(link), {"approved": True}).status == 202
        replay = post(self.url(link), {"approved": True})
        if replay.status != 403:
            self.breach(f"a replayed link answered {replay.status}")
        return replay

    def concurrent(self, target: Target) -> Reply:
        replies: list[Reply] = []
        threads = [
            threading.Thread(
                target=lambda: replies.append(
                    post(self.url(target.pending["respond_uri"]), {"approved": True})
                )
            )
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        taken = [r for r in replies if r.status == 202 and r.body.get("taken") is True]
        if len(taken) != 1 or any(r.status not in (202, 409, 410) for r in replies):
            self.breach(f"concurrent answers: {[r.status for r in replies]}")
        return taken[0] if taken else Reply(500, None, {})


def rotate_between_answer_and_replay(workdir: Path, report: Report) -> None:
    """An answer taken with key A; devhost restarted with key B (A retired, then gone): the recorded
    decision reads the same, and the answer's envelope replayed decides nothing more."""
    report.attempts += 1
    report.names.append("key rotated between an answer and its replay")
    with signing_host(workdir / "rotate.sqlite", "key-a", SETTINGS) as host:
        api = f"{host.base_url}/api/workflows"
        started = post(f"{api}/t_two_approvals", REQUEST).body
        run = started["runUri"]
        first = get(f"{run}?wait=30").body["pendingApprovals"][0]
        status = get(f"{host.base_url}/runtime/webhooks/durabletask/instances/{started['id']}?showInput=true")
        nonce = json.loads(status.body["input"]).get("run_nonce")
        envelope = signed_envelope(
            keys_of(b"key-a"),
            Binding(instance_id=started["id"], request_id=first["request_id"], run_nonce=nonce),
            AnswerEnvelope(response={"approved": True}, decided_by="alice", answer_id="a"),
        )
        event = started["sendEventPostUri"].replace("{eventName}", first["event_name"])
        assert post(event, envelope).status == 202
        before = get(f"{run}?wait=30&answered={first['request_id']}").body
        for settings in (
            {"APPROVAL_SIGNING_KEY": "key-b", "APPROVAL_SIGNING_KEYS_RETIRED": "key-a"},
            {"APPROVAL_SIGNING_KEY": "key-b", "APPROVAL_SIGNING_KEYS_RETIRED": ""},
        ):
            restart_with(host, **settings)
            assert post(event, envelope).status == 202  # the same answer again: a stale event
            after = get(f"{run}?wait=3&answered=x").body
            if after["closedApprovals"] != before["closedApprovals"] or after["pendingApprovalsTotal"] != 1:
                report.wrongly_accepted += 1
                report.failures.append(f"rotation changed the run: {before['closedApprovals']} -> {after}")


def rotate_links(workdir: Path, report: Report) -> None:
    """Links sent under key A keep answering once B signs and A is retired; once A is dropped, they are
    refused (then a link issued under B answers)."""
    report.attempts += 1
    report.names.append("links already sent, across a key rotation")
    with signing_host(workdir / "rotate-links.sqlite", "key-a", SETTINGS) as host:
        api = f"{host.base_url}/api/workflows"
        runs = [post(f"{api}/t_restricted", REQUEST).body["runUri"] for _ in range(2)]
        asked = [get(f"{run}?wait=30").body["pendingApprovals"][0] for run in runs]
        links = [post(a["links_uri"], {"for": "alice"}).body["respond_uri"] for a in asked]
        restart_with(host, APPROVAL_SIGNING_KEY="key-b", APPROVAL_SIGNING_KEYS_RETIRED="key-a")
        kept = post(links[0], {"approved": True})
        if kept.status != 202:
            report.failed_or_stuck += 1
            report.failures.append(f"a link signed with a retired key answered {kept.status} {kept.body}")
        restart_with(host, APPROVAL_SIGNING_KEYS_RETIRED="")
        dropped = post(links[1], {"approved": True})
        if dropped.status != 403:
            report.wrongly_accepted += 1
            report.failures.append(f"a link signed with a dropped key answered {dropped.status}")
        fresh = post(asked[1]["links_uri"], {"for": "alice"}).body["respond_uri"]
        if post(fresh, {"approved": True}).status != 202:
            report.failed_or_stuck += 1
            report.failures.append("a link issued after the rotation did not answer")


def campaign(workdir: Path, *, require_keys: bool) -> Report:
    report = Report("devhost --require-keys" if require_keys else "devhost")
    host = DevHostProcess(
        ROOT,
        workdir / f"state-{require_keys}.sqlite",
        settings=SETTINGS,
        extra_args=["--require-keys"] if require_keys else [],
    )
    host.start()
    try:
        keys = {}
        if require_keys:
            stored = json.loads((workdir / "keys.json").read_text())
            keys = {"master": stored["master"], "function": stored["functionKeys"]["default"]}
        Campaign(host, report, keys).run_all()
    finally:
        host.stop()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.hostile_approvals", description=__doc__
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        reports = [campaign(Path(folder), require_keys=False), campaign(Path(folder), require_keys=True)]
        rotation = Report("key rotation")
        rotate_between_answer_and_replay(Path(folder), rotation)
        rotate_links(Path(folder), rotation)
        reports.append(rotation)
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    for r in reports:
        print(
            f"{r.mode}: {r.attempts} attempts, {r.wrongly_accepted} wrongly accepted, "
            f"{r.failed_or_stuck} runs failed or stuck",
            file=sys.stderr,
        )
        for failure in r.failures:
            print(f"  {failure}", file=sys.stderr)
    return 1 if any(r.wrongly_accepted or r.failed_or_stuck for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
