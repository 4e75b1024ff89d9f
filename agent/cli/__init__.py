"""The `hwb-agent` command line, a face: it parses, calls actions and renders, nothing else.

- `main`: parse, load the configuration, run, map errors to exit codes (one place).
- `parser`: every command and option.
- `commands_*`: one module per group of commands; `output` and `views`: rendering.
"""

from agent.cli.main import main, system_clock

__all__ = ["main", "system_clock"]
