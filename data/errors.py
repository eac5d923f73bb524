"""The exception root of the whole project, and the data package's own errors.

Every error raised on purpose derives from `LeanProverError`, through one subclass per
package: `DataError` (here), `lean_env.errors.LeanEnvError`, `prover.errors.ProverError`,
`search.errors.SearchError`, `eval.errors.EvalError`. Its message is one line, fit to show a
user as is: the CLI prints `error: MESSAGE` and exits with code 2 (bad input), or 3 when the
error is also an `EnvironmentFailure` (Lean, a REPL, a policy server or Ray failed or is
missing: the same input may pass on a working machine). Anything else that escapes is a bug
and keeps its traceback. The root lives here because `data` is the package every other one
may import.
"""


class LeanProverError(Exception):
    """Root of every error this project raises on purpose; the message is one line for a user."""


class EnvironmentFailure(LeanProverError):
    """What the input asked for could not run: a REPL crashed or is missing, the Lean workspace
    is not set up, a policy server is down, Ray is not installed. Each package's error of this
    kind derives from it as well as from the package's own root."""


class DataError(LeanProverError):
    """Bad or missing input data. The message names the file (and line) and what to do."""
