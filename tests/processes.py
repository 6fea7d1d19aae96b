"""Running Django in a child process with the environment of a fresh machine, for
tests of the embedded default and of settings read at startup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh machine: none of the project's variables set."""
    keep = {"PATH", "HOME", "LANG", "SYSTEMROOT"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(extra)
    return env


def run_python(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python *args`` in ``cwd``, its output captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
