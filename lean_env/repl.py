"""One Lean REPL process, driven over its JSON protocol with asyncio.

The process runs in its own session (so its whole tree is one process group and a Ctrl-C in
the terminal does not reach it), under an address-space cap, and dies with its parent. Every
request has a timeout. On a timeout, an exit, or an answer that is not the protocol, the group
is killed and reaped and a typed ReplError (with the tail of stderr) is raised: the process is
then closed, and its owner starts another.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import ctypes
import json
import logging
import os
import resource
import secrets
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from lean_prover.data.lean_lexer import LexError
from lean_prover.lean_env.errors import (
    ReplCrashedError,
    ReplError,
    ReplMemoryError,
    ReplProtocolError,
    ReplStartError,
    ReplTamperedError,
    ReplTimeoutError,
)
from lean_prover.lean_env.protocol import (
    CommandRequest,
    CommandResponse,
    ErrorResponse,
    FileRequest,
    ProofStateResponse,
    ProtocolError,
    Request,
    Response,
    TacticRequest,
    encode_request,
    parse_response,
)
from lean_prover.lean_env.kit import ReportForged, SyntaxReport, kit_text, parse_command, read_syntax_report, split_header
from lean_prover.lean_env.usage import LEAN_CPU

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_STDERR_TAIL_BYTES = 16 * 1024
PROCESS_TREE_REFRESH_S = 30.0
"""How long the list of a REPL's processes is trusted by its memory check (`resident_memory_mb`)."""

REQUEST_TIME_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar("lean_request_time_limit",
                                                                                 default=None)
"""A caller's own limit on each request of its task (a `prover serve` client's `timeout`): it
bounds Lean's time on the caller's text, not the wait for a free REPL; header imports keep
`header_timeout_s`."""

STAND_IN_FIELD = "standIn"
"""A field a stand-in for the REPL puts in its answers to say what it is (the tests' REPL double
does). Lean's REPL never sends it: its answers are `CommandResponse`, `ProofStepResponse` and
`Error` of leanprover-community/repl `REPL/JSON.lean`, whose fields are env, messages, sorries,
tactics, infotree, proofState, proofStatus, goals and message. It can only weaken a verdict's
label (`verdict.on_stand_in`), never make one."""


@dataclass(frozen=True)
class ReplSettings:
    command: tuple[str, ...]
    cwd: Path | None = None
    timeout_s: float = 120.0
    header_timeout_s: float = 600.0
    memory_limit_mb: int = 0
    """RLIMIT_AS of the process tree; 0 for no cap."""
    recycle_after: int = 2000
    recycle_memory_mb: int = 0
    """Resident memory above which the process should be recycled; 0 to never check."""
    max_answer_bytes: int = 256 * 1024 * 1024
    """An answer larger than this is a protocol error (a flood), not something to buffer."""

    @classmethod
    def from_command_line(cls, command: str, **settings: object) -> ReplSettings:
        return cls(command=tuple(shlex.split(command)), **settings)  # type: ignore[arg-type]


def limit_child(memory_limit_mb: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: cap memory, die with the parent."""

    def prepare() -> None:
        if memory_limit_mb > 0:
            limit = memory_limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # not Linux: the pool's close() still kills the group
            pass

    return prepare


class ReplProcess:
    """A running REPL. Not safe for concurrent requests: the pool hands it to one user at a time."""

    def __init__(self, process: asyncio.subprocess.Process, settings: ReplSettings) -> None:
        self._process = process
        self.settings = settings
        self.requests_served = 0
        self.header_imports = 0
        self._header_envs: dict[str, CommandResponse] = {}
        self._stderr_tail: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())
        self._closed = False
        self._pending = bytearray()
        """Bytes read from stdout and not yet part of an answer."""
        self.newest_env = -1
        """The newest environment any answer named: a new command's environment is newer still."""
        self.stand_in = ""
        """What this process said it is when it declared itself a stand-in for Lean (STAND_IN_FIELD)."""
        self._tree: list[psutil.Process] = []
        self._tree_listed = 0.0

    @classmethod
    async def start(cls, settings: ReplSettings) -> ReplProcess:
        try:
            process = await asyncio.create_subprocess_exec(
                *settings.command,
                cwd=settings.cwd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=limit_child(settings.memory_limit_mb),
                limit=settings.max_answer_bytes,
            )
        except (OSError, ValueError) as error:
            raise ReplStartError(f"cannot start the REPL `{shlex.join(settings.command)}`: {error}") from error
        logger.debug("started REPL pid %d: %s", process.pid, shlex.join(settings.command))
        LEAN_CPU.track(process.pid)
        return cls(process, settings)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def closed(self) -> bool:
        return self._closed

    def needs_recycle(self) -> bool:
        """True once the process has served its quota of requests or grown too large."""
        if self.requests_served >= self.settings.recycle_after:
            return True
        if self.settings.recycle_memory_mb > 0:
            return self.resident_memory_mb() > self.settings.recycle_memory_mb
        return False

    def resident_memory_mb(self) -> float:
        """The resident memory of the process and its descendants (`lake env` runs the REPL as
        its child). Which processes those are is read again only every PROCESS_TREE_REFRESH_S or
        when one is gone: listing a process's children reads every process of the machine (psutil
        scans /proc; 0.4 ms among 70 processes, more on a busy node, at every check), where
        reading a known process's memory takes microseconds."""
        now = time.monotonic()
        try:
            if not self._tree or now - self._tree_listed > PROCESS_TREE_REFRESH_S:
                root = psutil.Process(self.pid)
                self._tree, self._tree_listed = [root, *root.children(recursive=True)], now
            return sum(p.memory_info().rss for p in self._tree) / 2**20
        except psutil.Error:
            self._tree = []
            return 0.0

    async def send(self, request: Request, timeout_s: float | None = None) -> Response:
        """Send one request and return its answer. Raises ReplError (and closes the process)."""
        if self._closed:
            raise ReplCrashedError("the REPL process is closed")
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        limit = REQUEST_TIME_LIMIT.get()
        if timeout_s is None and limit is not None:
            timeout = min(timeout, limit)
        try:
            data = await asyncio.wait_for(self._exchange(request), timeout)
        except asyncio.TimeoutError as error:
            await self.close()
            raise ReplTimeoutError(f"the REPL did not answer within {timeout:g} s", self.stderr_tail()) from error
        except ReplError as error:
            await self.close()
            error.stderr = self.stderr_tail()
            raise
        except asyncio.CancelledError:
            await self.close()  # a half-finished exchange leaves the stream out of step
            raise
        self.requests_served += 1
        if isinstance(data, CommandResponse):
            self.newest_env = max(self.newest_env, data.env)
        return data

    async def header_env(self, header: str) -> CommandResponse | ErrorResponse:
        """The environment every check of `header` starts from, made once per process and
        reused: the header's imports (with `import Lean` where it lacks it), then lean-prover's
        trusted kit (`kit.KIT_SOURCE`, elaborated where nothing is opened yet), then the rest
        of the header (its options and `open`s)."""
        cached = self._header_envs.get(header)
        if cached is not None:
            return cached
        try:
            parts = split_header(header)
        except LexError as error:
            return ErrorResponse(message=f"the header does not read as Lean: {error}")
        answer = await self._command(CommandRequest(cmd=parts.imports), self.settings.header_timeout_s)
        self.header_imports += 1
        if not isinstance(answer, CommandResponse) or answer.errors:
            return answer
        kit = await self._command(CommandRequest(cmd=kit_text(), env=answer.env), self.settings.header_timeout_s)
        if not isinstance(kit, CommandResponse) or kit.errors:
            detail = kit.errors[0].data if isinstance(kit, CommandResponse) else kit.message
            return ErrorResponse(message=f"lean-prover's checks do not compile on this Lean ({detail[:300]})")
        answer = kit
        if parts.rest.strip():
            answer = await self._command(CommandRequest(cmd=parts.rest, env=kit.env), self.settings.header_timeout_s)
        if isinstance(answer, CommandResponse) and not answer.errors:
            self._header_envs[header] = answer
        return answer

    async def _command(self, request: CommandRequest, timeout_s: float | None = None) -> CommandResponse | ErrorResponse:
        answer = await self.send(request, timeout_s=timeout_s)
        if isinstance(answer, (CommandResponse, ErrorResponse)):
            return answer
        await self.close()
        raise ReplProtocolError(f"a command was answered with a proof state: {answer!r}")

    async def _exchange(self, request: Request) -> Response:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(encode_request(request).encode("utf-8"))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise await self._exited("the REPL closed its input") from error
        raw = await self._read_answer()
        try:
            response = parse_response(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError, ProtocolError) as error:
            raise ReplProtocolError(f"the REPL answered something that is not the protocol: {raw[:200]!r}") from error
        _check_answer_kind(request, response)
        declared = (response.model_extra or {}).get(STAND_IN_FIELD)
        if declared and not self.stand_in:
            self.stand_in = str(declared)[:200]
            _announce_stand_in(self.stand_in)
        return response

    async def sentinel(self, env: int) -> None:
        """Prove that the channel is in step: a command only we know, sent now, must come back
        as the next answer, with its nonce, in a new environment. Raises ReplTamperedError (the
        process is then closed) or another ReplError."""
        # `#print "s"` logs `s` as one info message (leanprover/lean4 `src/Lean/Elab/Print.lean`,
        # `elabPrint` on a string literal); the REPL answers it in a new environment.
        marker = f"prover-sentinel {secrets.token_hex(16)}"
        after_env = self.newest_env
        answer = await self.send(CommandRequest(cmd=f'#print "{marker}"', env=env))
        messages = answer.messages if isinstance(answer, CommandResponse) else []
        if not (
            isinstance(answer, CommandResponse)
            and answer.env > after_env
            and len(messages) == 1
            and messages[0].severity == "info"
            and messages[0].data.strip() == marker
        ):
            await self.close()
            raise ReplTamperedError(f"the sentinel came back as {str(answer)[:200]}", self.stderr_tail())

    async def trusted_parse(self, nonce: str, mode: str, text: str, env: int) -> SyntaxReport:
        """Lean's own parse of `text` in `env` (the kit's `prover_parse`, `kit.parse_command`):
        nothing of the text runs. Raises ReplTamperedError (the process is then closed) for an
        answer that is not the kit's report with this nonce, in a new environment; ReportRefused
        for a report that is the kit's but not well formed."""
        answer = await self.send(CommandRequest(cmd=parse_command(nonce, mode, text), env=env))
        try:
            if not isinstance(answer, CommandResponse) or answer.env <= env:
                raise ReportForged(f"the trusted parse was answered with {str(answer)[:120]}")
            return read_syntax_report(answer, nonce)
        except ReportForged as error:
            logger.warning("REPL pid %d: tampered channel: %s", self.pid, error)
            await self.close()
            raise ReplTamperedError(str(error), self.stderr_tail()) from error

    async def _read_answer(self) -> bytes:
        """Lines up to the blank line that ends an answer. Bytes already waiting after that line
        mean that something besides the REPL wrote to the channel: a tampered answer."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = await self._read_line()
            if not line:
                raise await self._exited("the REPL exited before answering")
            if not line.strip():
                if lines:
                    if bytes(self._pending).strip():
                        raise ReplTamperedError(
                            f"more output followed the answer: {bytes(self._pending)[:120]!r}"
                        )
                    return b"".join(lines)
                continue
            size += len(line)
            if size > self.settings.max_answer_bytes:
                raise ReplProtocolError(f"the REPL's answer exceeds {self.settings.max_answer_bytes} bytes")
            lines.append(line)

    async def _read_line(self) -> bytes:
        """One line of stdout, from our own buffer (so that we can see what waits after an answer)."""
        stdout = self._process.stdout
        assert stdout is not None
        while (newline := self._pending.find(b"\n")) < 0:
            if len(self._pending) > self.settings.max_answer_bytes:
                raise ReplProtocolError(f"the REPL sent a line over {self.settings.max_answer_bytes} bytes")
            chunk = await stdout.read(1 << 16)
            if not chunk:
                line, self._pending = bytes(self._pending), bytearray()
                return line
            self._pending += chunk
        line = bytes(self._pending[: newline + 1])
        del self._pending[: newline + 1]
        return line

    async def _exited(self, what: str) -> ReplCrashedError:
        try:
            code = await asyncio.wait_for(self._process.wait(), 2.0)
        except asyncio.TimeoutError:
            code = None
        await asyncio.sleep(0)  # let the stderr reader catch the last lines
        tail = self.stderr_tail()
        detail = f"{what} (exit code {code})"
        if "out of memory" in tail.lower() or "std::bad_alloc" in tail:
            return ReplMemoryError(f"{detail}: out of memory under the {self.settings.memory_limit_mb} MiB cap", tail)
        return ReplCrashedError(detail, tail)

    async def _drain_stderr(self) -> None:
        """Keep the last few KiB of stderr, so that a chatty process never blocks on a full pipe."""
        stream = self._process.stderr
        assert stream is not None
        while chunk := await stream.read(4096):
            self._stderr_tail.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size > _STDERR_TAIL_BYTES and len(self._stderr_tail) > 1:
                self._stderr_size -= len(self._stderr_tail.popleft())

    def stderr_tail(self) -> str:
        return b"".join(self._stderr_tail).decode("utf-8", errors="replace")

    async def close(self) -> None:
        """Kill the whole process group and reap it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        LEAN_CPU.release(self._process.pid)
        kill_process_tree(self._process.pid)
        try:
            await asyncio.wait_for(self._process.wait(), 10.0)
        except asyncio.TimeoutError:
            logger.error("REPL pid %d did not exit after SIGKILL", self._process.pid)
        try:
            await asyncio.wait_for(self._stderr_task, 1.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._stderr_task.cancel()
        logger.debug("closed REPL pid %d after %d requests", self._process.pid, self.requests_served)


_ANNOUNCED_STAND_INS: set[str] = set()


def _announce_stand_in(stand_in: str) -> None:
    """Warn once per program and stand-in that Lean is not the one answering."""
    if stand_in not in _ANNOUNCED_STAND_INS:
        _ANNOUNCED_STAND_INS.add(stand_in)
        logger.warning("the REPL says it is a stand-in for Lean (%s): what it accepts proves nothing, and is "
                       "labelled so", stand_in)


def _check_answer_kind(request: Request, response: Response) -> None:
    """A command is answered by an environment, a tactic by a proof state (either may be an error)."""
    if isinstance(response, ErrorResponse):
        return
    if isinstance(request, (CommandRequest, FileRequest)) and not isinstance(response, CommandResponse):
        raise ReplTamperedError(f"a command was answered with {type(response).__name__}")
    if isinstance(request, TacticRequest) and not isinstance(response, ProofStateResponse):
        raise ReplTamperedError(f"a tactic was answered with {type(response).__name__}")


def kill_process_tree(pid: int) -> None:
    """SIGKILL the process group led by `pid`, and any descendant that left it."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for child in descendants:
        try:
            child.kill()
        except psutil.Error:
            pass
