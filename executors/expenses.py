"""Business steps of the expense-claim example: plain Python executors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from engine import ApprovalDecision, ApprovalOutcome, StepContext, executor

AUTO_APPROVE_LIMIT = 100.0
INSTALMENT = 500.0


class ExpenseClaim(BaseModel):
    """What an employee submits."""

    employee: str = Field(min_length=1, max_length=80, examples=["ada"])
    title: str = Field(min_length=1, max_length=200, examples=["Conference travel"])
    amount: float = Field(gt=0, le=100_000, description="total claimed, in EUR")
    has_receipts: bool = True


class Check(BaseModel):
    claim: ExpenseClaim
    name: str
    passed: bool
    note: str = ""


class Review(BaseModel):
    claim: ExpenseClaim
    checks: list[Check]

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.checks)


class Payment(BaseModel):
    employee: str
    total: float
    paid: float = 0.0
    instalments: int = 0

    @property
    def remaining(self) -> float:
        return round(self.total - self.paid, 2)


class Settlement(BaseModel):
    employee: str
    outcome: Literal["paid", "rejected"]
    amount: float
    instalments: int = 0
    reason: str = ""


@executor(id="receive_claim")
def receive_claim(claim: ExpenseClaim) -> ExpenseClaim:
    """Normalise the claim before the checks."""
    return claim.model_copy(update={"title": claim.title.strip(), "amount": round(claim.amount, 2)})


@executor(id="check_policy")
def check_policy(claim: ExpenseClaim) -> Check:
    forbidden = any(word in claim.title.lower() for word in ("casino", "alcohol"))
    return Check(
        claim=claim, name="policy", passed=not forbidden, note="forbidden category" if forbidden else ""
    )


@executor(id="check_budget")
def check_budget(claim: ExpenseClaim) -> Check:
    over = claim.amount > 10_000
    return Check(claim=claim, name="budget", passed=not over, note="over the yearly budget" if over else "")


@executor(id="check_receipts")
async def check_receipts(claim: ExpenseClaim) -> Check:
    return Check(
        claim=claim,
        name="receipts",
        passed=claim.has_receipts,
        note="" if claim.has_receipts else "missing receipts",
    )


@executor(id="summarize")
def summarize(checks: list[Check], ctx: StepContext) -> Review:
    """Fan-in: the checks arrive in source order, each carrying the claim it checked."""
    ctx.logger.info("claim of %s: %d checks", checks[0].claim.employee, len(checks))
    return Review(claim=checks[0].claim, checks=checks)


@executor(id="auto_approve")
def auto_approve(review: Review) -> Payment:
    return Payment(employee=review.claim.employee, total=review.claim.amount)


@executor(id="approved_by_manager")
def approved_by_manager(outcome: ApprovalOutcome[Review, ApprovalDecision]) -> Payment:
    return Payment(employee=outcome.request.claim.employee, total=outcome.request.claim.amount)


@executor(id="reject_claim")
def reject_claim(reason: Review | ApprovalOutcome[Review, ApprovalDecision]) -> Settlement:
    if isinstance(reason, Review):
        failed = ", ".join(f"{c.name}: {c.note}" for c in reason.checks if not c.passed)
        return Settlement(employee=reason.claim.employee, outcome="rejected", amount=0, reason=failed)
    comment = reason.response.comment or "rejected by the manager"
    return Settlement(employee=reason.request.claim.employee, outcome="rejected", amount=0, reason=comment)


@executor(id="pay_instalment")
def pay_instalment(payment: Payment, ctx: StepContext) -> Payment:
    """One bank transfer of at most INSTALMENT; the loop runs until the claim is paid."""
    amount = min(INSTALMENT, payment.remaining)
    ctx.logger.info("transfer %.2f to %s (key %s)", amount, payment.employee, ctx.idempotency_key)
    return payment.model_copy(
        update={"paid": round(payment.paid + amount, 2), "instalments": payment.instalments + 1}
    )


def still_owed(payment: Payment) -> bool:
    return payment.remaining > 0


def fully_paid(payment: Payment) -> bool:
    return payment.remaining <= 0


@executor(id="settle")
def settle(payment: Payment) -> Settlement:
    return Settlement(
        employee=payment.employee, outcome="paid", amount=payment.paid, instalments=payment.instalments
    )


def is_clean_and_small(review: Review) -> bool:
    return review.all_passed and review.claim.amount <= AUTO_APPROVE_LIMIT


def failed_a_check(review: Review) -> bool:
    return not review.all_passed
