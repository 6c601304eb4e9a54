"""A suspect message alone in a child process, with CPU, memory and time limits.

A message that was being processed twice when its process died may have killed it (a parser
bomb, a runaway regex) or may have been an innocent bystander: a deploy, the OOM killer
picking the biggest process, an orchestrator's liveness probe all kill whatever is at the head
of the queue. Only a child that is killed (by a signal or a limit) with that one message in
hand convicts it; an ordinary error in the child, or the parent dying again, convicts nobody.
"""

from __future__ import annotations

import copy
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from mailproc.app import App

log = logging.getLogger(__name__)
CPU_SECONDS = 120                    # far beyond any honest message (bench/hostile.py)
MEMORY_BYTES = 4 * 1024 ** 3         # address space of the child
WALL_SECONDS = 2 * CPU_SECONDS       # below RQ's job timeout, so the job sees the verdict
PR_SET_PDEATHSIG = 1


def run_alone(app: App, raw_id: int, work: Callable) -> tuple[str, object]:
    """Run `work(app, raw_id)` in a forked child: ("done", its result), ("error", what escaped
    it: not the message's fault), or ("died", how the child was killed: the message's)."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    # daemon: an interpreter that exits does not wait for it (multiprocessing joins the others)
    child = ctx.Process(target=_child, args=(app, raw_id, work, send), daemon=True)
    child.start()
    send.close()
    answer = None
    try:
        if receive.poll(WALL_SECONDS + 5):
            try:
                answer = receive.recv()
            except EOFError:
                pass   # it died before answering
        child.join(5)
    finally:
        if child.is_alive():     # hung past its alarm, or this process is being stopped
            child.kill()
            child.join()
    if answer is not None:
        return answer
    code = child.exitcode
    how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
           else f"exit code {code}")
    if code is not None and code >= 0:
        return "error", f"the child ended without an answer ({how})"
    log.error("raw message %s killed the child process that handled it alone (%s)", raw_id, how)
    return "died", how


def _limit(which: int, wanted: int) -> None:
    """Lower the soft limit to `wanted`, never above the hard limit an admin has set."""
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(which, (wanted, hard))


def _child(app: App, raw_id: int, work: Callable, send) -> None:
    # The parent's signal handlers (an RQ worker's warm shutdown) are not this process's job.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    try:   # dies with its parent: an orphan must not hold the mailbox's lock
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    signal.alarm(WALL_SECONDS)   # hung without using CPU: SIGALRM ends it
    _limit(resource.RLIMIT_CPU, CPU_SECONDS)
    _limit(resource.RLIMIT_AS, MEMORY_BYTES)
    # The parent's pooled connections stay the parent's, untouched: disposing of them here
    # would let the garbage collector close them. This process opens its own and leaves
    # through os._exit, so no finaliser of the inherited state runs.
    inherited = app
    app = copy.copy(app)          # keeps what prepare() built: the KB index, the calendar
    app.db = inherited.db.fresh()
    try:
        answer = ("done", work(app, raw_id))
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which decides
        answer = ("error", f"{type(exc).__name__}: {exc}"[:1000])
    send.send(answer)
    send.close()
    os._exit(0)
