"""A suspect message alone in a child process, with CPU and memory limits.

A message that was being processed twice when its process died may have killed it (a parser
bomb, a runaway regex) or may have been an innocent bystander: a deploy, the OOM killer
picking the biggest process, an orchestrator's liveness probe all kill whatever is at the head
of the queue. Only a child that dies with that one message in hand convicts it; the parent
dying again convicts nobody.
"""

from __future__ import annotations

import copy
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
WALL_SECONDS = 3 * CPU_SECONDS       # a child that waits this long without an answer is ended


def run_alone(app: App, raw_id: int, work: Callable) -> tuple[object | None, str]:
    """(what `work(app, raw_id)` returned in the child, "") or (None, how the child died)."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    # daemon: an interpreter that exits does not wait for it (multiprocessing joins the others)
    child = ctx.Process(target=_child, args=(app, raw_id, work, send), daemon=True)
    child.start()
    send.close()
    result = None
    # Never wait for ever: a child past its CPU limit is killed by the kernel, but one that
    # hangs without using CPU is ended here.
    if receive.poll(WALL_SECONDS):
        try:
            result = receive.recv()
        except EOFError:
            pass   # it died before answering
    child.join(5)
    if child.is_alive():
        child.kill()
        child.join()
    if child.exitcode == 0 and result is not None:
        return result, ""
    code = child.exitcode
    how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
           else f"exit code {code}")
    log.error("raw message %s killed the child process that handled it alone (%s)", raw_id, how)
    return None, how


def _child(app: App, raw_id: int, work: Callable, send) -> None:
    # The parent's signal handlers (an RQ worker's warm shutdown) are not this process's job.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    except (ValueError, OSError):
        pass   # a lower hard limit is already set: keep it
    # The parent's pooled connections stay the parent's, untouched: disposing of them here
    # would let the garbage collector close them, and a closed PostgreSQL connection ends the
    # parent's server session (and the mailbox lock it holds). This process opens its own and
    # leaves through os._exit, so no finaliser runs.
    inherited = app
    app = copy.copy(app)          # keeps what prepare() built: the KB index, the calendar
    app.db = inherited.db.fresh()
    outcome = work(app, raw_id)
    send.send(outcome)
    send.close()
    del inherited
    os._exit(0)   # no atexit handlers, no finalisers of the parent's inherited state
