"""The client of the suite's fork server (``benchmarks/forkserver.py``): one new process per request.

``bncvl check`` starts the server in asv's environment once per check and
sends it requests: "measure these benchmarks of this commit's tree". The
server forks a child per request, at once, so requests sent together run
side by side (instruction counts and bytes, which do not depend on the load)
and a request sent alone runs alone (relative timings, one per round and
commit). The protocol is in the server's docstring.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bncvl.track.selection import Benchmark

__all__ = ["SERVER_SCRIPT", "Answer", "ForkServer", "Request"]

SERVER_SCRIPT = "forkserver.py"
"""The server, in the benchmark suite's folder."""


@dataclass(frozen=True)
class Request:
    """What one child measures: ``benchmarks`` of one ``kind`` against the commit whose ``bncvl/`` is in ``tree``."""

    kind: str
    tree: Path
    benchmarks: Sequence[Benchmark]
    timeout: float
    counted: dict | None = None
    """Instruction counts kept from an earlier check (``instructions`` only): the child reuses them."""


@dataclass(frozen=True)
class Answer:
    """One child's values (``{benchmark: number, or {"skip": reason}, or {"error": text}}``), or why it has none."""

    values: dict[Benchmark, object] = field(default_factory=dict)
    counted: dict | None = None
    failure: str = ""
    """Set when the child left no answer (it crashed, or ran past its timeout): every benchmark failed."""


class ForkServer:
    """A running fork server; use :meth:`started`."""

    def __init__(self, process: subprocess.Popen[str], workdir: Path, describe: str) -> None:
        self._process = process
        self._workdir = workdir
        self._describe = describe
        self._torch_version: str | None = None
        self._sent = 0

    @property
    def torch_version(self) -> str:
        """The version of torch the server loaded; waits until it is ready (:meth:`wait_ready`)."""
        return self.wait_ready()

    def wait_ready(self) -> str:
        """Wait until the server has loaded torch; the version of torch.

        Raises:
            RuntimeError: the server exited before it was ready (torch missing from the environment, say).
        """
        if self._torch_version is None:
            assert self._process.stdout is not None
            ready = self._process.stdout.readline().split()
            if len(ready) != 2 or ready[0] != "ready":
                self._process.kill()
                raise RuntimeError(
                    f"the benchmark server ({self._describe}) exited before it was ready (exit "
                    f"{self._process.wait()}); its output is in the check's log"
                )
            self._torch_version = ready[1]
        return self._torch_version

    @classmethod
    @contextmanager
    def started(cls, python: Path, suite: Path, log: IO[str]) -> Iterator[ForkServer]:
        """Start the server of ``suite`` under asv's ``python``; its output and its children's go to ``log``.

        The server loads torch while the caller goes on; :meth:`run` waits for it.
        """
        with tempfile.TemporaryDirectory(prefix="bncvl-check-") as workdir:
            # The working directory is empty: nothing there can pass for the bncvl under test.
            process = subprocess.Popen(
                [str(python), str(suite.resolve() / SERVER_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=workdir,
                text=True,
            )
            try:
                yield cls(process, Path(workdir), f"{python} {suite / SERVER_SCRIPT}")
            finally:
                if process.stdin is not None and not process.stdin.closed:
                    with contextlib.suppress(BrokenPipeError):  # the server died already
                        process.stdin.close()  # the server kills what still runs and exits
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def run(self, requests: Sequence[Request]) -> list[Answer]:
        """Send ``requests`` together (their children run side by side) and wait for every answer.

        Raises:
            RuntimeError: the server itself died.
        """
        self.wait_ready()
        assert self._process.stdin is not None and self._process.stdout is not None
        outs: dict[str, Path] = {}
        lines = []
        for request in requests:
            self._sent += 1
            request_id = str(self._sent)
            outs[request_id] = self._workdir / f"answer-{request_id}.json"
            message = {
                "id": request_id,
                "kind": request.kind,
                "tree": str(request.tree),
                "benchmarks": [[name, method, list(params)] for name, method, params in request.benchmarks],
                "out": str(outs[request_id]),
                "timeout": request.timeout,
                "counted": request.counted,
            }
            lines.append(json.dumps(message) + "\n")
        try:
            self._process.stdin.write("".join(lines))
            self._process.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"the benchmark server died (exit {self._process.wait()}); see the log") from None
        statuses: dict[str, int] = {}
        while len(statuses) < len(outs):
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"the benchmark server died (exit {self._process.wait()}); see the log")
            word, request_id, status = line.split()
            if word == "done" and request_id in outs:
                statuses[request_id] = int(status)
        return [
            _answer(outs[request_id], statuses[request_id], request.timeout)
            for request_id, request in zip(outs, requests, strict=True)
        ]


def _answer(out: Path, status: int, timeout: float) -> Answer:
    """The answer a child left at ``out``, or the reason it left none."""
    if status != 0 or not out.is_file():
        how = f"was killed after its timeout of {timeout:g} s" if status == -9 else f"exited with status {status}"
        return Answer(failure=f"the benchmark process {how} without an answer; see the log")
    data = json.loads(out.read_text())
    out.unlink()
    values = {(name, method, tuple(params)): value for name, method, params, value in data["values"]}
    return Answer(values, data.get("counted"))
