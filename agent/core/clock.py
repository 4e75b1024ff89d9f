"""The clock the faces hand to actions: a function giving the current aware UTC instant.

The core never reads a clock (`now` is an argument); the command line, the service and the tests
each pass their own, so that "today" is a value a test can set rather than a patch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
