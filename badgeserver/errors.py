"""One exception root for badgeserver; each subclass has a stable `code`. No HTTP here."""

from __future__ import annotations


class BadgeServerError(Exception):
    """Root of every error badgeserver raises on purpose."""

    code = "badgeserver_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InputError(BadgeServerError):
    """The caller's input is unusable (wrong format, too large, malformed)."""

    code = "invalid_input"


class InputTooLarge(InputError):
    """The input passes a size or depth limit."""

    code = "input_too_large"


class ContextError(BadgeServerError):
    """A JSON-LD context is not pinned, or a pinned file does not match its digest."""

    code = "context_not_allowed"


class CanonicalizationError(BadgeServerError):
    """JSON-LD processing failed, would drop data (CTX-10), or passed its work limit."""

    code = "canonicalization_failed"


class DataLossError(CanonicalizationError):
    """A term or IRI did not expand, so canonicalization would silently drop it (CTX-10)."""

    code = "data_loss"


class WorkLimitExceeded(CanonicalizationError):
    """Blank-node canonicalization passed its work limit (a hostile graph)."""

    code = "canonicalization_work_limit"


class KeyMaterialError(BadgeServerError):
    """A key is malformed, missing or of the wrong kind."""

    code = "invalid_key"


class ProofError(BadgeServerError):
    """A proof cannot be created, or a proof object is malformed."""

    code = "invalid_proof"


class SchemaError(BadgeServerError):
    """A document does not validate against its JSON Schema."""

    code = "schema_invalid"


class DidError(BadgeServerError):
    """A DID is malformed or cannot be resolved."""

    code = "did_invalid"


class FetchError(BadgeServerError):
    """A URL could not be fetched (refused by policy, network failure, too large, too slow)."""

    code = "fetch_failed"


class BakeError(BadgeServerError):
    """An image cannot be baked or holds no credential."""

    code = "bake_failed"


class NotFound(BadgeServerError):
    """A requested record does not exist."""

    code = "not_found"
