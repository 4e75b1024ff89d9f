"""Run a deployment guide's own code blocks, as an administrator would paste them.

How a guide marks its blocks (the one documented way, also in deploy/directories.md):

- ```` ```sh settings ````: the variables a reader sets for their server, one
  ``NAME=value`` per line (a comment may follow). Never run by the tests: a test
  supplies its own server's value for every name, and fails if the guide names a
  variable the test does not supply (or the other way round), so the two cannot
  drift apart.
- ```` ```sh test ````: a step to run. All of a guide's test blocks run in
  document order as one bash script (``set -euo pipefail``, so a failing command
  fails the test), from the checkout's root directory, like one terminal
  session: a ``cd`` or a shell variable carries over to the next block.
- Any other block (```` ```sh ````, ```` ```yaml ````, ```` ```ldif ````) is shown, not
  run; the test module that covers the guide says why in its docstring.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(?P<info>[^`\n]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
SETTING = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=")


@dataclass(frozen=True)
class Block:
    info: str  # the fence's info string, e.g. "sh test"
    body: str
    line: int  # line of the opening fence in the guide (1-based)

    @property
    def words(self) -> list[str]:
        return self.info.split()


def blocks(guide: Path) -> list[Block]:
    text = guide.read_text()
    return [
        Block(found["info"].strip(), found["body"], text.count("\n", 0, found.start()) + 1)
        for found in FENCE.finditer(text)
    ]


def settings(guide: Path) -> list[str]:
    """The variable names of the guide's ``sh settings`` blocks, in order."""
    names: list[str] = []
    for block in blocks(guide):
        if block.words[:2] == ["sh", "settings"]:
            names += [found["name"] for line in block.body.splitlines() if (found := SETTING.match(line))]
    return names


def runnable_blocks(guide: Path) -> list[Block]:
    return [block for block in blocks(guide) if block.words[:2] == ["sh", "test"]]


def script(guide: Path) -> str:
    """The guide's test blocks as one script; each block announces its line (stderr) before it runs."""
    relative = guide.relative_to(REPO)
    parts = ["set -euo pipefail"]
    for block in runnable_blocks(guide):
        parts.append(f"echo '### {relative}:{block.line}' >&2")
        parts.append(block.body)
    return "\n".join(parts) + "\n"


class GuideFailed(AssertionError):
    pass


def run_guide(guide: Path, values: dict[str, str], *, extra_env: dict[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the guide's test blocks with values for every name of its settings block."""
    names = settings(guide)
    assert names, f"{guide} has no ```sh settings block"
    missing = sorted(set(names) - set(values))
    unknown = sorted(set(values) - set(names))
    assert not missing and not unknown, (
        f"{guide}: the settings block and the test disagree: the test lacks {missing}, "
        f"the guide lacks {unknown}"
    )
    assert runnable_blocks(guide), f"{guide} has no ```sh test block"
    env = {**os.environ, **values, **(extra_env or {})}
    completed = subprocess.run(
        ["bash", "-c", script(guide)], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    if completed.returncode != 0:
        raise GuideFailed(
            f"{guide.relative_to(REPO)} failed (exit {completed.returncode}); the last ### line names"
            f" the block\n--- stdout ---\n{completed.stdout[-6000:]}"
            f"\n--- stderr ---\n{completed.stderr[-6000:]}"
        )
    return completed


def secret_file(path: Path, value: str) -> Path:
    """A password file as the guides make them: mode 0600, no trailing newline (ldap-utils -y/-T)."""
    path.write_text(value)
    path.chmod(0o600)
    return path
