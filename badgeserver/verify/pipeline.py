"""The ordered verification pipeline (ob3-requirements §4): input to report, never raising for bad data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from badgeserver import did
from badgeserver.errors import FetchError, InputError
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify import checks, inputs
from badgeserver.verify import report as r
from badgeserver.verify.proofs import KeyResolver, Outcome, as_list, check_proofs, issuer_id
from badgeserver.verify.status import FetchJson, check_entry

MAX_FETCHES = 6
MAX_STATUS_ENTRIES = 4


class Verifier:
    """Verifies credentials with injected key resolution, fetching and clock."""

    def __init__(
        self,
        *,
        fetch_json: FetchJson,
        clock: Callable[[], datetime],
        canonicalizer: Canonicalizer | None = None,
        resolve_key: KeyResolver | None = None,
        http_hosts: frozenset[str] = frozenset(),
        max_fetches: int = MAX_FETCHES,
        known_issuers: Mapping[str, str] | None = None,
    ) -> None:
        """Use the given fetcher and clock (the outside world); pinned contexts by default."""
        self.canonicalizer = canonicalizer or Canonicalizer()
        self.fetch_json: FetchJson = fetch_json
        self.resolve_key: KeyResolver | None = resolve_key
        self.clock = clock
        self.http_hosts = http_hosts
        self.max_fetches = max_fetches
        self.known_issuers = known_issuers

    def verify_bytes(self, data: bytes, *, recipient: str | None = None) -> r.Report:
        """Verify a file's bytes: a baked PNG or SVG, credential JSON, or a JWT."""
        try:
            parsed = inputs.read_bytes(data)
        except InputError as exc:
            return self._unparsed(_guess_kind(data), exc)
        return self.verify_parsed(parsed, recipient=recipient)

    def verify_text(self, text: str, *, recipient: str | None = None) -> r.Report:
        """Verify pasted credential JSON or a JWT."""
        try:
            parsed = inputs.read_text(text)
        except InputError as exc:
            return self._unparsed("json", exc)
        return self.verify_parsed(parsed, recipient=recipient)

    def verify_parsed(self, parsed: inputs.ParsedInput, *, recipient: str | None = None) -> r.Report:
        """Verify a credential already read from its input."""
        return self.verify_credential(
            parsed.credential,
            input_kind=parsed.kind,
            proof_format=parsed.proof_format,
            recipient=recipient,
        )

    def _unparsed(self, kind: str, exc: InputError) -> r.Report:
        report = r.Report(checked_at=_stamp(self.clock()), input_kind=kind)
        report.add(r.INPUT_PARSE, r.FAILED, exc.code, exc.message)
        for check_id in r.CHECK_ORDER[1:]:
            report.add(check_id, r.SKIPPED, "not_checked", "Not checked: the input could not be read.")
        return report

    def verify_credential(
        self,
        credential: dict[str, Any],
        *,
        input_kind: str = "json",
        proof_format: str = "embedded",
        recipient: str | None = None,
    ) -> r.Report:
        """Run every check in order on a credential object and return the report."""
        now = self.clock()
        # One verification fetches each URL once and at most max_fetches URLs in all, so a
        # credential listing many proofs or status entries cannot keep the verifier busy.
        fetch = _FetchBudget(self.fetch_json, self.max_fetches)
        resolve_key = self.resolve_key or (
            lambda url: did.resolve_verification_method(url, fetch_json=fetch, http_hosts=self.http_hosts)
        )
        report = r.Report(checked_at=_stamp(now), input_kind=input_kind)
        report.credential = summarize(credential)
        report.add(r.INPUT_PARSE, r.PASSED, "parsed", f"The {input_kind.upper()} input holds a credential.")
        _record(report, r.CONTEXT, checks.context(credential, self.canonicalizer))
        _record(report, r.TYPE, checks.credential_type(credential))
        _record(report, r.SCHEMA, checks.schema_valid(credential))
        _record(report, r.SUBJECT, checks.subject_identified(credential))
        if proof_format == "jwt":
            self._jwt_unsupported(report)
        else:
            _record(report, r.PROOF_PRESENT, checks.proof_present(credential))
            proof = check_proofs(credential, resolve_key=resolve_key, canonicalizer=self.canonicalizer)
            _record(report, r.PROOF_KEY, proof.key)
            _record(report, r.PROOF_CONTROLLER, proof.controller)
            _record(report, r.PROOF_SIGNATURE, proof.signature)
        _record(report, r.NOT_BEFORE, checks.not_before(credential, now))
        _record(report, r.EXPIRY, checks.expiry(credential, now))
        self._status(report, credential, fetch, resolve_key)
        _record(report, r.ISSUER_KNOWN, checks.issuer_known(credential, self.known_issuers))
        _record(report, r.RECIPIENT, checks.recipient(credential, recipient))
        _record(report, r.ENDORSEMENTS, _endorsements(credential))
        return report

    def _jwt_unsupported(self, report: r.Report) -> None:
        report.add(r.PROOF_PRESENT, r.PASSED, "jwt", "The credential is secured as a VC-JWT.")
        message = "VC-JWT proofs are not checked by badgeserver; only Data Integrity proofs are."
        report.add(r.PROOF_KEY, r.SKIPPED, "not_checked", message)
        report.add(r.PROOF_CONTROLLER, r.SKIPPED, "not_checked", message)
        report.add(r.PROOF_SIGNATURE, r.ERROR, "unsupported_proof_format", message)

    def _status(
        self, report: r.Report, credential: dict[str, Any], fetch: FetchJson, resolve_key: KeyResolver
    ) -> None:
        entries = as_list(credential.get("credentialStatus"))
        if not entries:
            report.add(r.STATUS, r.PASSED, "no_status", "The issuer publishes no status for this credential.")
            return
        if report.status_of(r.PROOF_SIGNATURE) != r.PASSED:
            report.add(r.STATUS, r.SKIPPED, "not_checked", "Not checked: the signature was not verified.")
            return
        for entry in entries[:MAX_STATUS_ENTRIES]:  # STAT-6: each entry is checked
            _record(
                report,
                r.STATUS,
                check_entry(
                    entry,
                    fetch_json=fetch,
                    resolve_key=resolve_key,
                    canonicalizer=self.canonicalizer,
                ),
            )


class _FetchBudget:
    """Fetch through `fetch_json`, each URL once, and no more than `limit` URLs."""

    def __init__(self, fetch_json: FetchJson, limit: int) -> None:
        self.fetch_json = fetch_json
        self.limit = limit
        self.seen: dict[str, dict[str, Any] | FetchError] = {}

    def __call__(self, url: str) -> dict[str, Any]:
        if url not in self.seen:
            if len(self.seen) >= self.limit:
                raise FetchError(
                    f"Could not fetch {url}: one verification fetches at most {self.limit} documents."
                )
            try:
                self.seen[url] = self.fetch_json(url)
            except FetchError as exc:
                self.seen[url] = exc
        found = self.seen[url]
        if isinstance(found, FetchError):
            raise found
        return found


def _record(report: r.Report, check_id: str, outcome: Outcome) -> None:
    report.add(check_id, outcome.status, outcome.code, outcome.message)


def _endorsements(credential: dict[str, Any]) -> Outcome:
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    holders = [credential, credential.get("issuer"), achievement]
    found = sum(
        len(as_list(h.get("endorsement"))) + len(as_list(h.get("endorsementJwt")))
        for h in holders
        if isinstance(h, dict)
    )
    if not found:
        return Outcome(r.SKIPPED, "no_endorsements", "The credential carries no endorsements.")
    return Outcome(
        r.WARNING,
        "endorsements_not_checked",
        f"The credential carries {found} endorsement(s) that badgeserver does not check.",
    )


def summarize(credential: dict[str, Any]) -> dict[str, Any]:
    """The few facts a report shows about the credential it checked."""
    issuer = credential.get("issuer")
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    return {
        "id": credential.get("id"),
        "name": credential.get("name"),
        "issuer": {
            "id": issuer_id(credential),
            "name": issuer.get("name") if isinstance(issuer, dict) else None,
        },
        "achievement": achievement.get("name") if isinstance(achievement, dict) else None,
        "validFrom": credential.get("validFrom", credential.get("issuanceDate")),
        "validUntil": credential.get("validUntil", credential.get("expirationDate")),
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _guess_kind(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if b"<svg" in data[:4096]:
        return "svg"
    return "json"
