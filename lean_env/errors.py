"""One exception hierarchy for the Lean side. A Lean error in a proof is a value (a Verdict);
these are for a REPL that misbehaves or a setup that is missing."""

from __future__ import annotations


class LeanEnvError(Exception):
    """Base of every exception raised by lean_env."""


class WorkspaceError(LeanEnvError):
    """The Lean workspace is missing or unusable; the message says what to do."""


class PinMismatchError(LeanEnvError):
    """Results from different Lean/Mathlib/REPL versions were about to be mixed."""


class ReplError(LeanEnvError):
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
