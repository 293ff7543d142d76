"""What the officernd-auth command's tests share: the console script, the secret every run is
searched for, and a real terminal for the secret prompt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SCRIPT = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
SECRET = "cli-s3cret-UNIQUE-value-9b1e"
SCOPE = "flex.community.members.read flex.community.members.create"

Run = Callable[..., subprocess.CompletedProcess[str]]


def prompt_session(env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run ``officernd-auth token`` on a real terminal, answer its secret prompt with
    ``answer`` (raw bytes: Ctrl-D is b"\\x04"), return the exit code and the screen."""
    import fcntl
    import pty
    import termios

    assert SCRIPT is not None
    environment = {k: v for k, v in env.items() if k != "OFFICERND_CLIENT_SECRET"}
    controller, terminal = pty.openpty()

    def own_terminal() -> None:  # the prompt reads the controlling terminal, as getpass does
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [SCRIPT, "token", "--no-cache"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    screen = b""
    deadline = time.monotonic() + 30
    while b"secret:" not in screen and time.monotonic() < deadline:
        screen += os.read(controller, 1024)
    os.write(controller, answer)
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(controller)
    return process.wait(timeout=30), screen.decode()
