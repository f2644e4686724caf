"""``bncvl check``'s benchmark processes: a server that loads torch once and forks a new process per request.

``bncvl check`` never installs a commit: it exports the commit's ``bncvl/``
into a folder of its own and runs this file in asv's environment (see
:mod:`bncvl.track.forks`). The server imports the suite's package (its
ISA settings), torch and torch's compiler (:func:`benchmarks.compiler.load_compiler`),
but neither bncvl nor a benchmark module. For each request it forks a child,
which puts the request's tree first on ``sys.path`` (and on ``PYTHONPATH``,
for the processes it starts, such as valgrind's), imports the benchmark
module against that commit's bncvl and measures what the request names. So
each request is a process of its own, in which the commit's code is imported
afresh; what the children share is the server's import of torch.

Protocol, one line per message:

- server to client: ``ready TORCH_VERSION`` once torch is loaded;
  ``done ID STATUS`` when the child of request ``ID`` has exited (its exit
  status, or minus the signal that ended it: -9 after its ``timeout``).
- client to server: a JSON request ``{"id", "tree", "kind", "benchmarks",
  "out", "timeout"}`` and, for ``instructions``, ``"counted"`` (counts kept
  from an earlier check, or null). ``kind`` is ``relative``, ``memory`` or
  ``instructions``; ``benchmarks`` lists ``[class, method, params]``. At
  the end of its input the server kills the children still running and exits.

The child writes ``{"values": [[class, method, params, value], ...]}`` to
``out`` (and, for ``instructions``, the ``"counted"`` it used): ``value`` is
a number, ``{"skip": reason}`` (the benchmark cannot run here) or
``{"error": traceback}`` (it failed in this process).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

__all__ = ["serve"]

Wanted = list[tuple[str, str]]
"""The ``(class, method)`` pairs asked of one parameter combination."""


def _grouped(benchmarks: list[list]) -> dict[tuple[str, ...], Wanted]:
    """The requested benchmarks by parameter combination, in the order given."""
    groups: dict[tuple[str, ...], Wanted] = {}
    for name, method, params in benchmarks:
        groups.setdefault(tuple(params), []).append((name, method))
    return groups


def _answer(params: tuple[str, ...], wanted: Wanted, measure: Callable[[], dict]) -> list[list]:
    """``[class, method, params, value]`` rows of one combination; every row an error if ``measure`` raised.

    ``measure`` returns ``{(class, method): value}``, or ``{method: value}`` for a module of one class.
    """
    try:
        got = measure()
    except Exception:  # the commit's code failed: recorded, as asv records a failing benchmark
        error = {"error": traceback.format_exc()}
        print(error["error"], file=sys.stderr, flush=True)
        return [[name, method, list(params), error] for name, method in wanted]
    rows = []
    for name, method in wanted:
        value = got[name, method] if (name, method) in got else got[method]
        rows.append([name, method, list(params), {"skip": value} if isinstance(value, str) else value])
    return rows


def _relative(request: dict) -> dict:
    from benchmarks import bench_relative

    values = []
    for params, wanted in _grouped(request["benchmarks"]).items():
        values += _answer(params, wanted, lambda: bench_relative.measure_together(params, wanted))  # noqa: B023
    return {"values": values}


def _memory(request: dict) -> dict:
    from benchmarks import bench_memory

    values = []
    for params, wanted in _grouped(request["benchmarks"]).items():
        methods = [method for _, method in wanted]
        values += _answer(params, wanted, lambda: bench_memory.measure_selected(params, methods))  # noqa: B023
    return {"values": values}


def _instructions(request: dict) -> dict:
    from benchmarks import bench_instructions

    groups = _grouped(request["benchmarks"])
    counted = request.get("counted") or bench_instructions.count_selected(list(groups))
    values = []
    for params, wanted in groups.items():
        methods = [method for _, method in wanted]
        values += _answer(params, wanted, lambda: bench_instructions.values_of(counted, params, methods))  # noqa: B023
    return {"values": values, "counted": counted}


MEASURES: dict[str, Callable[[dict], dict]] = {
    "relative": _relative,
    "memory": _memory,
    "instructions": _instructions,
}


def _child(request: dict) -> None:
    """Run in the forked child: measure ``request`` against its tree, write the answer, and exit."""
    status = 1
    try:
        # The server's stdout is the protocol: what the commit's code prints goes to stderr, the log.
        os.dup2(2, 1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        tree = request["tree"]
        sys.path.insert(0, tree)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, os.environ.get("PYTHONPATH")]))
        try:
            answer = MEASURES[request["kind"]](request)
        except Exception:  # the suite did not import against this commit: every benchmark failed
            error = {"error": traceback.format_exc()}
            print(error["error"], file=sys.stderr, flush=True)
            answer = {"values": [[*benchmark, error] for benchmark in request["benchmarks"]]}
        out = Path(request["out"])
        partial = out.with_name(out.name + ".partial")
        partial.write_text(json.dumps(answer))
        partial.replace(out)  # the client reads an answer whole or not at all
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(status)


def _send(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve() -> None:
    """Load torch, say ``ready``, then fork a child per request until the input ends (see the module docstring)."""
    import torch

    from benchmarks.compiler import load_compiler

    load_compiler()
    _send(f"ready {torch.__version__}")
    children: dict[int, tuple[str, float]] = {}  # pid -> (request id, deadline)
    pending = b""
    reading = True
    while reading or children:
        if reading:
            ready, _, _ = select.select([0], [], [], 0.05 if children else None)
            if ready:
                data = os.read(0, 1 << 16)
                reading = bool(data)
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    request = json.loads(line)
                    pid = os.fork()
                    if pid == 0:
                        _child(request)
                    children[pid] = (str(request["id"]), time.monotonic() + float(request["timeout"]))
            if not reading:  # the client is gone or done: nothing will read what still runs
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
        else:
            time.sleep(0.05)
        for pid, (_, deadline) in children.items():
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            request_id, _ = children.pop(pid)
            if reading:
                _send(f"done {request_id} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    from callgrind import import_suite_only  # this script's folder is sys.path[0] until import_suite_only()

    import_suite_only()
    serve()
