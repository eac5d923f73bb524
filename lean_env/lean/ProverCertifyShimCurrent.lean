/-
The kernel of the current Lean releases (v4.34 on) for lean-prover's checker (`prover setup`
installs this file as `ProverCertifyShim.lean`): the library replays constants itself,
`Kernel.Environment.replay` (leanprover/lean4#12972 brought lean4checker's replay into
`src/Lean/Replay.lean`, with no heartbeat limit, and leanprover/lean4#14391 made it work on the
kernel's environment; the Lean FRO's kernel arena replays through `env.toKernelEnv` the same way).
-/
import Lean

open Lean

namespace ProverCertifyShim

def replay (env : Environment) (constants : Std.HashMap Name ConstantInfo) : IO (Name → Option ConstantInfo) := do
  let replayed ← env.toKernelEnv.replay constants
  return fun name => replayed.find? name

end ProverCertifyShim
