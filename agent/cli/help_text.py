"""What each command's `--help` says beyond its options: a description citing the rules, and examples.

Every subcommand of `agent.cli.parser.build_parser()` has an entry here (the parser refuses to build
otherwise); the examples run on the embedded demo (`config/demo.yaml`) as printed.
"""

from __future__ import annotations

DEMO = "hwb-agent --config config/demo.yaml"

# command: (description, example command lines)
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "check-config": (
        "Validate the configuration file, connect and bind to the directory, and report what the agent"
        " needs but is missing (schema, rights, sign-in tracking). Exit 1 when something is missing.",
        (f"{DEMO} check-config",
         "HWB_AGENT_CONFIG=/etc/hwb-agent/681.yaml hwb-agent check-config"),
    ),
    "sweep": (
        "One pass of every rule (MIS-1 to MIS-5, NM-3, NM-4, NM-7, C-1), reading only the accounts the"
        " policy says may be due unless --full. --dry-run changes nothing; --as-of DATE (with --dry-run)"
        " is a forecast. The mass-change guard (C-8) stops a run that would change too much (exit 4).",
        (f"{DEMO} sweep --dry-run",
         f"{DEMO} sweep --dry-run --as-of 2027-09-01 --json"),
    ),
    "list": (
        "The accounts of this local authority, by category then uid (C-3), with their lifecycle dates;"
        " entries whose lifecycle data cannot be read are listed apart (C-7).",
        (f"{DEMO} list --category non-mis --active N",
         f"{DEMO} list --sponsor admin.cardiff --csv > accounts.csv"),
    ),
    "show": (
        "One account: its state, the rule and date behind it, its next scheduled transition, and the"
        " command an administrator can run next (NM-5, NM-6, MIS-4).",
        (f"{DEMO} show frees0238",
         f"{DEMO} show nmcprice0247 --json"),
    ),
    "create": (
        "Create a non-MIS account with an expiry date from its duration (NM-1). A learner, by role, mail"
        " or MIS identifier, is refused with exit 3 (NM-2).",
        (f"{DEMO} create --type governor --given-name Ann --surname Jones --mail ann.jones@example.org"
         " --sponsor admin.cardiff --duration 6m",),
    ),
    "extend": (
        "Give a non-MIS account a new expiry date counted from today (NM-6); never shorter than the"
        " current one without --allow-shorten. With --from-file, extend many at once, for the annual"
        " review (NM-9).",
        (f"{DEMO} extend nmcprice0247 --duration 3m --by admin.cardiff",
         f"{DEMO} extend --from-file review.csv --by admin.cardiff"),
    ),
    "activate": (
        "Reactivate a disabled non-MIS account (NM-5, C-1), keeping its expiry date; with --duration it"
        " is also extended (NM-6). An account whose expiry has passed needs --duration (exit 3 otherwise).",
        (f"{DEMO} activate nmcprice0247 --by admin.cardiff --duration 3m",),
    ),
    "service-desk-reactivate": (
        "Reactivate a staff leaver's MIS account (MIS-4): only the service desk does this, and the"
        " operator and ticket are recorded in the directory and the audit trail (C-6).",
        (f"{DEMO} service-desk-reactivate frees0238 --by desk.operator --ticket INC-1234",),
    ),
    "expiring": (
        "The banner line (how many accounts expire) and the non-MIS accounts whose expiry date falls"
        " within the window, today included, with the days left (NM-8).",
        (f"{DEMO} expiring",
         f"{DEMO} expiring --weeks 4 --sponsor admin.cardiff --json"),
    ),
    "review": (
        "The annual review (NM-9): every non-MIS account per sponsor, flagging those ending by this"
        " academic year end. Edit its --csv output and give it to `extend --from-file`.",
        (f"{DEMO} review --sponsor admin.cardiff",
         f"{DEMO} review --csv > review.csv"),
    ),
    "run": (
        "The long-running service: sweeps on the configured schedule, activation requests (C-1) within"
        " a poll, health and metrics; SIGHUP reopens the audit file, SIGTERM stops after the current"
        " change.",
        ("hwb-agent --config /etc/hwb-agent/681.yaml run",),
    ),
    "request-activation": (
        "Write an activation request on an account as a portal would (C-1), audited; the service (`run`)"
        " or `requests` answers it by the rules of NM-5 and NM-6.",
        (f"{DEMO} request-activation nmcprice0247 --by portal --duration 3m",),
    ),
    "requests": (
        "Answer pending activation requests now (C-1), by the rules of NM-5 and NM-6, instead of waiting"
        " for the service's next poll.",
        (f"{DEMO} requests --dry-run",
         f"{DEMO} requests --json"),
    ),
    "import-mis": (
        "MIS provisioning from a OneRoster 1.1 CSV package, a folder or a .zip: create and enable"
        " current people (MIS-1), set leaving dates (MIS-2), follow school moves (MIS-3). A broken"
        " package writes nothing (exit 2); the mass-change guard (C-8) holds back a school (exit 4).",
        (f"{DEMO} import-mis feed.zip --dry-run",
         f"{DEMO} import-mis feed/ --feed-date 2026-09-01"),
    ),
    "rules": (
        "The policy's rules, by id, in words (docs/POLICY.md carries the same text). Needs no"
        " configuration.",
        ("hwb-agent rules", "hwb-agent rules NM-4"),
    ),
    "remind": (
        "Email each sponsor one digest (Welsh, then English) of their non-MIS accounts expiring within"
        " notifications.thresholds_days (NM-8; default 56 and 14 days) and of their disabled accounts to"
        " be deleted within notifications.purge_notice_days (NM-7, MIS-5; default 28), each reminder once"
        " only (recorded in hwbReminderSent). --dry-run prints the digests and sends and records nothing;"
        " --to ADDRESS (with --dry-run) sends one digest there. Exit 1 when the SMTP server fails.",
        (f"{DEMO} remind --dry-run",
         f"{DEMO} remind --dry-run --to me@example.org --json"),
    ),
    "completion": (
        "Print a shell completion script generated from this parser, for bash or zsh. Needs no"
        " configuration.",
        ("hwb-agent completion bash > /etc/bash_completion.d/hwb-agent",
         "hwb-agent completion zsh > ~/.zfunc/_hwb-agent"),
    ),
    "manpage": (
        "Print a man page (roff) generated from this parser: every command, its options and examples."
        " Needs no configuration.",
        ("hwb-agent manpage > /usr/local/share/man/man1/hwb-agent.1", "hwb-agent manpage | man -l -"),
    ),
    "web": (
        "The administrators' console (issue 13): sign-in against the directory, the seed's pages"
        " (Managing Expiring Accounts, Manage Local Authority Non-MIS accounts, View Details, Manage"
        " User, Activate) in Welsh and English, served on web.listen. Plain HTTP: off loopback, a TLS"
        " reverse proxy goes in front (web.allow_non_loopback).",
        (f"{DEMO} web",
         "HWB_AGENT_CONFIG=/etc/hwb-agent/681.yaml hwb-agent web"),
    ),
}


def epilog(command: str) -> str:
    examples = COMMANDS[command][1]
    return "examples:\n" + "\n".join(f"  {line}" for line in examples)
