"""The boundary to Lean: workspaces, REPL processes, verification."""
