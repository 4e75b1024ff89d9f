"""Files that hold personal data or state, created readable by their owner only (issue 11, item 6).

Audit trails carry names and before/after values; the embedded directory's state file carries
every entry. They are created 0600 whatever the umask: `os.open`'s mode is masked by the umask
(which may also take away the owner's write bit), so the mode is set again on the new file. A
file that exists already keeps the mode its operator gave it (a log shipper may be meant to read
it).

In the directory layer so that both the directory (the state file) and the actions (the audit
trail) may use it; it imports nothing of the agent.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600

_FLAGS = {
    "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
}


def open_private(path: str | os.PathLike[str], mode: str = "a", *, encoding: str | None = "utf-8"
                 ) -> IO[Any]:
    """`open(path, mode)` for writing ("w", "a" or "x"; with "b" for bytes, "+" to read too),
    a new file created 0600 whatever the umask. Raises OSError as `open` does."""
    kind = mode.replace("b", "").replace("+", "")
    if kind not in _FLAGS:
        raise ValueError(f"open_private writes files: mode {mode!r} is not one of w, a, x (b, +)")
    flags = _FLAGS[kind] | getattr(os, "O_CLOEXEC", 0)
    if "+" in mode:
        flags = (flags & ~os.O_WRONLY) | os.O_RDWR
    try:
        # O_EXCL first: knowing that this call made the file, without a race with another writer.
        descriptor = os.open(path, flags | os.O_EXCL, PRIVATE_MODE)
        created = True
    except FileExistsError:
        if kind == "x":
            raise
        descriptor = os.open(path, flags, PRIVATE_MODE)
        created = False
    try:
        if created:
            os.fchmod(descriptor, PRIVATE_MODE)
        return os.fdopen(descriptor, mode, encoding=None if "b" in mode else encoding)
    except BaseException:
        os.close(descriptor)
        raise


@contextlib.contextmanager
def replace_private(path: Path, *, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text stream whose content replaces `path` in one rename when the block ends (a temporary
    file beside it), 0600 whatever the umask. A crash or an exception leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        os.fchmod(handle, PRIVATE_MODE)
        with os.fdopen(handle, "w", encoding=encoding) as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """Group or others may read the file."""
    return os.stat(path).st_mode & 0o044 != 0
