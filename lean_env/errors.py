"""One exception hierarchy for the Lean side. A Lean error in a proof is a value (a Verdict);
these are for a REPL that misbehaves or a setup that is missing."""

from __future__ import annotations

from lean_prover.data.errors import EnvironmentFailure, LeanProverError


class LeanEnvError(LeanProverError):
    """Base of every exception raised by lean_env."""


class LeanSettingError(LeanEnvError, ValueError):
    """A [lean] or [ray] setting, or a flag of a Lean command (`--lean`, `--commit`), with a
    value it cannot have, or missing; the message names it. Bad input: exit 2."""


class WorkspaceError(LeanEnvError, EnvironmentFailure):
    """The Lean workspace (or a tool it needs: lake, the checker, lean-dojo) is missing or
    unusable; the message says what to do. An environment failure: exit 3."""


class ReplError(LeanEnvError, EnvironmentFailure):
    """A REPL process failed. It has been killed and reaped; its owner starts a new one."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr
        """The tail of the process's stderr, for diagnosis."""


class ReplStartError(ReplError):
    """The REPL command could not be started (not found, not executable)."""


class ReplTimeoutError(ReplError):
    """A request took longer than its timeout."""


class ReplCrashedError(ReplError):
    """The process exited, or closed its output, before answering."""


class ReplMemoryError(ReplCrashedError):
    """The process ran out of memory under its cap."""


class ReplProtocolError(ReplError):
    """The process answered something that is not a REPL answer (garbage, too large)."""


class ReplTamperedError(ReplError):
    """The answers on the protocol channel are not the REPL's answers to our requests: an extra
    or missing JSON object, an answer of the wrong kind, an environment that is not new, or a
    sentinel whose nonce is missing. Checked code can write to the process's stdout, so any of
    these may be forged: the process is killed, and the check's verdict is `Tampered`."""
