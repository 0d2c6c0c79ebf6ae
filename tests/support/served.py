"""A badgeserver instance served for real by `badgeserver serve` (gunicorn) on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BADGESERVER = Path(sys.executable).parent / "badgeserver"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answering(url: str, server: subprocess.Popen, log: Path) -> None:
    """Wait (at most a minute) for `url` to answer 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"the server exited with {server.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback server
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer {url}: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def serving(
    instance: Path, port: int, log: Path, *, env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[None]:
    """Serve the demo `instance` on `port` until the block ends; the server's output goes to `log`."""
    with log.open("wb") as sink:
        server = subprocess.Popen(  # noqa: S603 - our own command line
            [
                str(BADGESERVER),
                "serve",
                "--instance",
                str(instance),
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env or dict(os.environ),
            cwd=instance.parent,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/issuers/usbe/did.json", server, log)
        yield
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=15)
