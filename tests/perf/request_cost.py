"""Cost per request of building and sending one modify (and one add) on the write pipeline.

    PYTHONPATH=$PWD python3 -m tests.perf.request_cost [--old-ref 415f2ff] [--number 5000]

Times `ModifyPipeline.send` + `flush` (per window of 64) of this checkout against the same of an
older commit's `agent/directory/pipeline.py` (read with `git show`; issue 7's hand-written BER
encoder lives there, so this script needs no copy of it). The connection is a real ldap3 SYNC
connection whose socket is one end of a socketpair drained by `cat`: no server, so the figure is
the client's CPU cost alone (what bounds the window's throughput once the round trip is hidden).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import time
import types
from pathlib import Path

import ldap3

from agent.directory import pipeline as current

DN = "uid=l0012345,ou=people,dc=example,dc=org"
MODIFY = [  # what an OpenLDAP MIS-2 disable writes
    ("pwdAccountLockedTime", "replace", ("000001010000Z",)),
    ("hwbDisabledAt", "replace", ("20261202020000Z",)),
    ("hwbDisabledReason", "replace", ("left",)),
]
ADD = [  # an MIS import's create
    ("objectClass", ["inetOrgPerson", "hwbAccount"]), ("uid", ["l0012345"]), ("cn", ["Siân Llŷr"]),
    ("sn", ["Llŷr"]), ("givenName", ["Siân"]), ("mail", ["l0012345@hwbcymru.net"]),
    ("hwbCategory", ["mis"]), ("hwbRole", ["learner"]), ("hwbMisId", ["A123456789012"]),
    ("hwbSchool", ["6812001"]), ("hwbLocalAuthority", ["681"]),
]
WINDOW = 64


def _connection() -> tuple[ldap3.Connection, socket.socket, subprocess.Popen[bytes]]:
    """A SYNC connection 'open' on a socketpair whose far end a child process reads and throws away
    (a process, not a thread: a draining thread would compete for the GIL being measured)."""
    near, far = socket.socketpair()
    connection = ldap3.Connection(ldap3.Server("ldap://127.0.0.1:9", get_info=ldap3.NONE),
                                  client_strategy=ldap3.SYNC, check_names=False)
    connection.socket, connection.closed, connection.listening = near, False, True
    connection.strategy._outstanding = {}  # what strategy.open() would have set
    drainer = subprocess.Popen(["cat"], stdin=far, stdout=subprocess.DEVNULL)
    return connection, far, drainer


def per_request(module: types.ModuleType, kind: str, number: int) -> float:
    """Microseconds per request (best of three rounds) for module's ModifyPipeline."""
    best = float("inf")
    for _ in range(3):
        connection, far, drainer = _connection()
        pipe = module.ModifyPipeline(connection)
        began = time.perf_counter()
        for index in range(number):
            if kind == "modify":
                pipe.send(DN, MODIFY)
            else:
                pipe.send_add(DN, ADD)
            if index % WINDOW == WINDOW - 1:
                pipe.flush()
        pipe.flush()
        best = min(best, (time.perf_counter() - began) / number * 1e6)
        connection.socket.close()
        far.close()
        drainer.wait(5)
        getattr(connection.strategy, "_outstanding", {}).clear()
    return best


def old_module(ref: str) -> types.ModuleType:
    root = Path(__file__).resolve().parents[2]
    source = subprocess.run(["git", "-C", str(root), "show", f"{ref}:agent/directory/pipeline.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"pipeline_{ref}")
    exec(compile(source, f"{ref}:agent/directory/pipeline.py", "exec"), module.__dict__)  # noqa: S102
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-ref", default="415f2ff", help="commit with the hand-written encoder")
    parser.add_argument("--number", type=int, default=5000, help="requests per round")
    args = parser.parse_args()
    old = old_module(args.old_ref)
    print(f"ldap3 {ldap3.__version__}; us per request (build + send, flushed per {WINDOW}; best of 3)")
    for kind in ("modify", "add"):
        new_cost = per_request(current, kind, args.number)
        old_cost = per_request(old, kind, args.number)
        print(f"{kind:6}  ldap3 encoder + strategy.send: {new_cost:7.1f} us   "
              f"hand encoder ({args.old_ref}): {old_cost:6.1f} us   ratio {new_cost / old_cost:5.1f}x")


if __name__ == "__main__":
    main()
