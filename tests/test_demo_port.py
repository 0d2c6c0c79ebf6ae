"""`badgeserver demo` refuses a busy port before it resets anything."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from badgeserver.cli import main


def test_busy_port_is_reported_before_the_demo_instance_is_reset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "demo.db").write_bytes(b"the running demo's database")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["demo", "--instance", str(instance), "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"badgeserver: Port {port} is in use; stop the other server (or demo) or choose another with --port."
    )
    assert (instance / "demo.db").read_bytes() == b"the running demo's database"
