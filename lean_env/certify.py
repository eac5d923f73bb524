"""The certified tier: a verdict reached without trusting anything the candidate's code did.

The fast tier reads the REPL's answer about the candidate in the process that just ran the
candidate's elaborators. The certified tier instead
1. compiles the candidate (header, context, helpers, statement, proof) to an `.olean` with
   `lean`, in its own process group, under a time and memory limit, in a folder of its own;
2. after that process is gone, compiles the reference (the same header and context, the
   untouched statement, proved by `sorry`) in another folder, once per problem: its `.olean`
   is kept in memory and written out afresh for each later check;
3. runs `prover_certify` (our checker, `lean_env/lean/ProverCertify.lean`, built into the
   workspace by `prover setup` with the kernel shim of its Lean release), which requires the
   candidate to import what the reference imports, replays every declaration of the
   candidate's module through the kernel on top of its imports with no heartbeat limit,
   compares the theorem's type with the reference's up to binder names (`Expr.eqv`) and its
   universe parameters, and lists its axioms as the kernel names them; it prints one line of
   JSON, read fail-closed here.

Helper lemmas and definitions are fine: the kernel checks them too. Unsafe constants are never
replayed (Lean 4.15's code generator keeps every computable definition's compiled code as
unsafe `_cstage1`/`_cstage2` constants), so nothing safe can rest on one. `implemented_by` and
`extern` only change compiled code, which reaches a proof only through `Lean.ofReduceBool`
(native_decide), an axiom the check rejects. The checker binary is hashed when first used and
again before every run, so a candidate that wrote to the workspace is caught.

Why our own checker and not a pinned SafeVerify or comparator: SafeVerify's releases do not follow
our Lean pins, and some of its versions print a failed check and still exit 0; the FRO's
comparator needs landrun and lean4export. Ours is some hundred lines of Lean over the kernel's
own API (lean4checker's method), with one machine-readable answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import secrets
import shlex
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.data.lean_lexer import name_parts
from lean_prover.data.problem import Problem
from lean_prover.lean_env.checks import attach_proof, theorem_name
from lean_prover.lean_env.config import CertifyMode, LeanConfig
from lean_prover.lean_env.errors import LeanEnvError, WorkspaceError
from lean_prover.lean_env.guard import NATIVE_AXIOMS, STANDARD_AXIOMS, GuardPolicy, Violation, check_candidate
from lean_prover.lean_env.kit import Name, dotted
from lean_prover.lean_env.protocol import Message, Pos
from lean_prover.lean_env.repl import kill_process_tree, limit_child
from lean_prover.lean_env.verdict import CERTIFIED_TIER, GuardRejected, LeanErrors, LeanRun, Proved, TimedOut, Verdict, on_stand_in
from lean_prover.lean_env.workspace import Pins

logger = logging.getLogger(__name__)

CHECKER_SOURCE = Path(__file__).parent / "lean" / "ProverCertify.lean"
CHECKER_TARGET = "prover_certify"
# The kernel shim of each range of Lean releases, by the first release it is for (see each file).
SHIMS: list[tuple[tuple[int, int, int], str]] = [
    ((0, 0, 0), "ProverCertifyShim415.lean"),
    ((4, 18, 0), "ProverCertifyShim427.lean"),
    ((4, 34, 0), "ProverCertifyShimCurrent.lean"),
]


def checker_sources(toolchain: str) -> dict[str, str]:
    """The checker's source files for a workspace of `toolchain` (e.g.
    `leanprover/lean4:v4.27.0`), by the name each takes there: one checker, and its release's
    kernel shim as `ProverCertifyShim.lean`, and the replay the older shims share."""
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", toolchain)
    version = (int(match[1]), int(match[2]), int(match[3])) if match else SHIMS[-1][0]
    shim = [name for first, name in SHIMS if version >= first][-1]
    folder = CHECKER_SOURCE.parent
    return {"ProverCertify.lean": CHECKER_SOURCE.read_text(encoding="utf-8"),
            "ProverCertifyShim.lean": (folder / shim).read_text(encoding="utf-8"),
            "ProverCertifyReplay.lean": (folder / "ProverCertifyReplay.lean").read_text(encoding="utf-8")}
_LEAN_ERROR = re.compile(r":(?P<line>\d+):(?P<column>\d+): error: (?P<message>.*)")


def checker_path(workspace: Path) -> Path:
    """Where `prover setup` builds the checker."""
    return workspace / ".lake" / "build" / "bin" / CHECKER_TARGET


def require_checker(workspace: Path, certify: CertifyMode, checker: Path | None = None) -> None:
    """Fail before any work when proofs are to be certified and the checker (`checker`, or the
    workspace's build) is not built."""
    binary = checker or checker_path(workspace)
    if certify != "never" and not binary.is_file():
        raise WorkspaceError(
            f"the certified checker is not built ({binary}): run `prover setup`, "
            'or set lean.certify = "never" to keep fast-tier verdicts'
        )


@dataclass(frozen=True)
class CertifySettings:
    """The certified tier's settings, each read from `LeanConfig` (`from_config`): no default here."""

    workspace: Path
    env_command: tuple[str, ...]
    """The prefix that runs a program with the workspace's Lean and Mathlib on its paths."""
    timeout_s: float
    """Time limit of each of the three steps."""
    memory_limit_mb: int
    """RLIMIT_AS of each step's process tree; 0 for no cap."""
    guard_policy: GuardPolicy
    """The allowlist the candidate is held to first (`LeanConfig.guard_policy`)."""
    checker: Path | None
    """The checker binary; None for the workspace's build (`prover setup`)."""

    @classmethod
    def from_config(cls, config: LeanConfig) -> CertifySettings:
        return cls(
            workspace=config.workspace,
            env_command=tuple(shlex.split(config.certify_command)),
            timeout_s=config.certify_timeout_s,
            memory_limit_mb=config.memory_limit_mb,
            guard_policy=config.guard_policy(),
            checker=config.checker_binary,
        )


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


class StepTimedOut(LeanEnvError):
    pass


async def run_limited(command: list[str], cwd: Path, timeout_s: float, memory_limit_mb: int) -> Finished:
    """Run a command in its own process group under a time and memory limit; kill the group
    on timeout (raises StepTimedOut)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=limit_child(memory_limit_mb),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except (asyncio.TimeoutError, asyncio.CancelledError) as error:
        kill_process_tree(process.pid)
        await process.wait()
        if isinstance(error, asyncio.CancelledError):
            raise
        raise StepTimedOut(f"`{shlex.join(command[:3])} ...` ran over {timeout_s:g} s") from error
    _kill_group(process.pid)  # whatever it left behind in its group (the leader is reaped: no psutil lookup)
    return Finished(process.returncode or 0, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class CertifiedChecker:
    def __init__(self, settings: CertifySettings, pins: Pins) -> None:
        self.settings = settings
        self.pins = pins
        self._checker_digest: str | None = None
        self._references: dict[str, bytes] = {}
        """Compiled references by the sha256 of their text, kept in memory (where no candidate can
        write): each problem's reference is compiled once, however many proofs of it are judged."""

    @property
    def checker(self) -> Path:
        return self.settings.checker or checker_path(self.settings.workspace)

    async def certify(self, problem: Problem, proof: str, preamble: str = "") -> Verdict:
        """The certified verdict on `proof` of `problem` (with helper declarations `preamble`)."""
        policy = self.settings.guard_policy
        violations = check_candidate(problem.formal_statement, proof, preamble, policy, answer=problem.answer)
        if violations:
            return GuardRejected(tuple(violations))
        name = theorem_name(problem.formal_statement)
        assert name is not None
        candidate = problem.header + problem.context + preamble + problem.formal_statement + proof
        # The reference is the source's text: an answer the problem asks for is `sorry` there.
        reference = problem.header + problem.reference_context + problem.formal_statement
        reference += attach_proof(problem.formal_statement, " sorry") + "\n"
        return await self.certify_texts(candidate, reference, name_parts(name)[-1])


    async def certify_alone(self, problem: Problem, proof: str) -> Verdict:
        """The certified verdict on a theorem of a file nobody vouches for (no reference: the
        checker requires that its type mention no constant the file itself defines)."""
        violations = check_candidate(problem.formal_statement, proof, problem.context, self.settings.guard_policy)
        if violations:
            return GuardRejected(tuple(violations))
        name = theorem_name(problem.formal_statement)
        assert name is not None
        candidate = problem.header + problem.context + problem.formal_statement + proof
        return await self.certify_texts(candidate, None, name_parts(name)[-1])

    async def certify_texts(self, candidate: str, reference: str | None, theorem: str) -> Verdict:
        """Steps 1-3 on whole files: `candidate` must prove the theorem (last name component
        `theorem`) that `reference` states with `sorry`; with no reference, the file's own
        theorem of that name. No static guard here: `certify` runs it."""
        digest = self._checker_sha256()
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        with tempfile.TemporaryDirectory(prefix="prover-certify-") as work:
            candidate_dir, reference_dir = Path(work) / "candidate", Path(work) / "reference"
            try:
                built = await self._compile(candidate_dir, candidate)
                if built.returncode != 0:
                    return self._compile_errors(built, started)
                reference_olean = "-"
                if reference is not None:
                    reference_key = hashlib.sha256(reference.encode("utf-8")).hexdigest()
                    if reference_key not in self._references:
                        compiled = await self._compile(reference_dir, reference)
                        if compiled.returncode != 0:
                            return self._compile_errors(compiled, started, where="the reference statement")
                        self._references[reference_key] = (reference_dir / "Check.olean").read_bytes()
                    else:
                        reference_dir.mkdir()
                        (reference_dir / "Check.olean").write_bytes(self._references[reference_key])
                    reference_olean = str(reference_dir / "Check.olean")
                if self._checker_sha256() != digest:
                    raise WorkspaceError(f"{self.checker} changed while a proof was checked; run `prover setup` again")
                judged = await run_limited(
                    [*self.settings.env_command, str(self.checker), reference_olean,
                     str(candidate_dir / "Check.olean"), theorem, nonce],
                    self.settings.workspace, self.settings.timeout_s, self.settings.memory_limit_mb,
                )
            except StepTimedOut as error:
                return TimedOut(time.monotonic() - started, str(error))
        run = LeanRun(lean_seconds=time.monotonic() - started, pins=self.pins)
        return self._judge(judged, nonce, run, reference is not None)

    async def _compile(self, folder: Path, text: str) -> Finished:
        folder.mkdir()
        (folder / "Check.lean").write_text(text, encoding="utf-8")
        return await run_limited(
            [*self.settings.env_command, "lean", "-o", str(folder / "Check.olean"), str(folder / "Check.lean")],
            self.settings.workspace, self.settings.timeout_s, self.settings.memory_limit_mb,
        )

    def _checker_sha256(self) -> str:
        """The checker binary's digest, taken once and compared before every run."""
        require_checker(self.settings.workspace, "final", self.settings.checker)
        digest = hashlib.sha256(self.checker.read_bytes()).hexdigest()
        if self._checker_digest is None:
            self._checker_digest = digest
        elif digest != self._checker_digest:
            raise WorkspaceError(f"{self.checker} changed since it was first used; run `prover setup` again")
        return digest

    def _compile_errors(self, built: Finished, started: float, where: str = "") -> LeanErrors:
        output = built.stdout + built.stderr
        match = _LEAN_ERROR.search(output)
        data = match["message"] if match else (output.strip().splitlines() or [f"exit code {built.returncode}"])[-1]
        pos = Pos(line=int(match["line"]), column=int(match["column"])) if match else Pos(line=0, column=0)
        if where:
            data = f"{where}: {data}"
        message = Message(severity="error", pos=pos, data=data[:2000])
        return LeanErrors(LeanRun(messages=(message,), lean_seconds=time.monotonic() - started, pins=self.pins),
                          message, None)

    def _judge(self, judged: Finished, nonce: str, run: LeanRun, with_reference: bool) -> Verdict:
        lines = [line for line in judged.stdout.splitlines() if line.strip()]

        def reject(rule: str, message: str) -> GuardRejected:
            return GuardRejected((Violation(rule, message),), run)

        try:
            if len(lines) != 1:
                raise ValueError(f"{len(lines)} lines")
            report: dict[str, Any] = json.loads(lines[0])
            if not isinstance(report, dict):
                raise ValueError("not an object")
        except ValueError as error:
            tail = (judged.stderr.strip().splitlines() or [""])[-1]
            return reject("certify", f"the checker's answer is not one JSON object ({error}); {tail[:300]}")
        if report.get("nonce") != nonce:
            return reject("certify", "the checker's answer is not for this check (nonce)")
        if "error" in report or judged.returncode != 0:
            return reject("kernel", f"the kernel replay failed: {str(report.get('error'))[:500]}")
        theorem = report.get("theorem")
        if report.get("imports_match") is not True:
            return reject("statement-changed", "the compiled proof does not import what the reference imports")
        if report.get("found") is not True:
            return reject("statement-changed", f"the compiled proof has no theorem {theorem}")
        if report.get("is_theorem") is not True:
            return reject("statement-changed", f"{theorem} is not a theorem")
        if with_reference:
            if report.get("has_reference") is not True or report.get("same_type") is not True:
                return reject("statement-changed", f"{theorem} has another type than the reference statement")
            if report.get("same_levels") is not True:
                return reject("statement-changed", f"{theorem} has other universe parameters than the reference")
        try:
            axioms = [_name(a) for a in _list(report.get("axioms"))]
            local_constants = [_name(c) for c in _list(report.get("local_constants"))]
        except ValueError:
            return reject("certify", "the checker's answer lists no axioms or constants")
        if not with_reference and local_constants:
            names = ", ".join(f"`{dotted(c)}`" for c in local_constants)
            return reject("meaning", f"the statement mentions {names}, which the file defines itself")
        policy = self.settings.guard_policy
        allowed = {tuple(a.split(".")) for a in STANDARD_AXIOMS | (NATIVE_AXIOMS if policy.allow_native_decide
                                                                    else frozenset())}
        extra = [dotted(a) for a in axioms if a not in allowed]
        if extra:
            return reject("axioms", f"the proof depends on non-standard axioms: {', '.join(extra)}")
        # A stand-in for the checker (the tests' fake_certify.py) says so in `stand_in`; the real
        # one (lean/ProverCertify.lean) never writes that key.
        checker = on_stand_in(f"{report.get('checker')} on Lean {report.get('lean')}", str(report.get("stand_in") or "")[:200])
        return Proved(run, tuple(dotted(a) for a in axioms), tier=CERTIFIED_TIER, checker=checker)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"not a list: {value!r}")
    return value


def _name(value: Any) -> Name:
    """A name from the checker's answer: the list of its components."""
    if not isinstance(value, list) or not value or not all(isinstance(part, str) for part in value):
        raise ValueError(f"not a name: {value!r}")
    return tuple(value)
