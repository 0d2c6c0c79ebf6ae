"""Shared command-line helpers: one-sentence errors, exit codes, file input and output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from badgeserver import bakery
from badgeserver.errors import BadgeServerError, InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
EXIT_UNUSABLE = 2


MAX_MESSAGE = 500


def fail(message: str) -> NoReturn:
    """Print one sentence on stderr and exit with code 2 (control characters shown, length capped)."""
    text = printable(message)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    click.echo(f"badgeserver: {text}", err=True)
    sys.exit(EXIT_UNUSABLE)


def one_sentence_errors(func: F) -> F:
    """Turn badgeserver and file errors into one sentence on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BadgeServerError as exc:
            fail(exc.message)
        except UnicodeError:
            fail("An argument or input is not valid UTF-8 text.")
        except BrokenPipeError:
            sys.exit(EXIT_UNUSABLE)
        except OSError as exc:
            name = f" {exc.filename}" if exc.filename else ""
            fail(f"Cannot use the file{name}: {exc.strerror or exc}.")

    return wrapper  # type: ignore[return-value]


def read_file(path: str) -> bytes:
    """Read a file (or stdin for '-') up to the input limit."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("There is no standard input to read.")
        return sys.stdin.buffer.read(bakery.MAX_IMAGE_BYTES + 1)
    file = Path(path)
    if file.exists() and not file.is_file():
        raise InputError(f"{path} is not a regular file.")
    if not file.is_file():
        raise InputError(f"There is no file {path}.")
    if file.stat().st_size > bakery.MAX_IMAGE_BYTES:
        raise InputError(f"The file {path} is larger than badgeserver accepts.")
    return file.read_bytes()


def write_file(path: str, data: bytes) -> None:
    """Write bytes to a file (or stdout for '-')."""
    if path == "-":
        sys.stdout.buffer.write(data)
        return
    Path(path).write_bytes(data)


def read_text(path: str) -> str:
    """Read a UTF-8 text file (or stdin for '-')."""
    try:
        return read_file(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{'Standard input' if path == '-' else path} is not UTF-8 text.") from None


def printable(text: object) -> str:
    """Text from an untrusted credential, safe for a terminal: control characters made visible."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(text))
