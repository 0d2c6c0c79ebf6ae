"""The verification report (DESIGN §4): check ids, statuses and the report dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
WARNING = "warning"
SKIPPED = "skipped"
STATUSES = (PASSED, FAILED, WARNING, ERROR, SKIPPED)

# Check ids, in the order they run (ob3-requirements §4).
INPUT_PARSE = "input.parse"
CONTEXT = "context.valid"
TYPE = "type.valid"
SCHEMA = "schema.valid"
SUBJECT = "subject.identified"
PROOF_PRESENT = "proof.present"
PROOF_KEY = "proof.key"
PROOF_CONTROLLER = "proof.controller"
PROOF_SIGNATURE = "proof.signature"
NOT_BEFORE = "time.not_before"
EXPIRY = "time.expiry"
STATUS = "status"
ISSUER_KNOWN = "issuer.known"
RECIPIENT = "recipient.match"
ENDORSEMENTS = "endorsements"
CHECK_ORDER = (
    INPUT_PARSE,
    CONTEXT,
    TYPE,
    SCHEMA,
    SUBJECT,
    PROOF_PRESENT,
    PROOF_KEY,
    PROOF_CONTROLLER,
    PROOF_SIGNATURE,
    NOT_BEFORE,
    EXPIRY,
    STATUS,
    ISSUER_KNOWN,
    RECIPIENT,
    ENDORSEMENTS,
)


@dataclass(frozen=True)
class Check:
    """One check's outcome: its id, status, stable code and a sentence for people."""

    id: str
    status: str
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The check as the report's JSON shows it."""
        return {"id": self.id, "status": self.status, "code": self.code, "message": self.message}


@dataclass
class Report:
    """A whole verification report; `verified` only with no failed and no error check."""

    checked_at: str
    input_kind: str
    checks: list[Check] = field(default_factory=list)
    credential: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """True when every check passed, warned or was skipped, and at least one proof passed."""
        if any(c.status in (FAILED, ERROR) for c in self.checks):
            return False
        return any(c.id == PROOF_SIGNATURE and c.status == PASSED for c in self.checks)

    def add(self, check_id: str, status: str, code: str, message: str) -> Check:
        """Record one check's outcome."""
        check = Check(check_id, status, code, message)
        self.checks.append(check)
        return check

    def status_of(self, check_id: str) -> str | None:
        """The status of the first check with `check_id`, or None."""
        for check in self.checks:
            if check.id == check_id:
                return check.status
        return None

    def summary(self) -> dict[str, int]:
        """How many checks ended in each status."""
        counts = dict.fromkeys(STATUSES, 0)
        for check in self.checks:
            counts[check.status] += 1
        return counts

    def problems(self) -> list[Check]:
        """Failed and error checks, a forged signature first (it outranks everything else)."""
        bad = [c for c in self.checks if c.status in (FAILED, ERROR)]
        return sorted(bad, key=lambda c: (c.id != PROOF_SIGNATURE, c.status != FAILED))

    def headline(self) -> str:
        """One sentence: verified, or the most serious problem."""
        problems = self.problems()
        if problems:
            return problems[0].message
        if self.verified:
            for check in self.checks:
                if check.id == ISSUER_KNOWN and check.status == WARNING:
                    return f"The signature is valid, but: {check.message}"
            return "This credential is authentic and valid."
        return "No proof could be checked, so this credential is not verified."

    def to_json(self) -> dict[str, Any]:
        """The report as JSON, one shape for the page, the API and the CLI."""
        return {
            "verified": self.verified,
            "headline": self.headline(),
            "checked_at": self.checked_at,
            "input": {"kind": self.input_kind},
            "credential": self.credential,
            "summary": self.summary(),
            "checks": [c.to_json() for c in self.checks],
        }
