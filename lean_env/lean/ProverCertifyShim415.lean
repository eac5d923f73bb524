/-
The kernel of Lean v4.15 to v4.17 for lean-prover's checker (`prover setup` installs this file
as `ProverCertifyShim.lean`): the kernel works on `Environment`, and
`Environment.addDeclCore env 0 decl none` checks a declaration with no heartbeat limit
(leanprover/lean4 `src/Lean/Environment.lean`, v4.15.0: `addDeclCore (env : Environment)
(maxHeartbeats : USize) (decl : @& Declaration) (cancelTk? : @& Option IO.CancelToken)`). The
library's own `Environment.replay` (`src/Lean/Replay.lean`) is not used: it calls
`env.addDecl {} d`, whose default options carry the default heartbeat limit.
-/
import Lean
import ProverCertifyReplay

open Lean

namespace ProverCertifyShim

def kernel : ProverCertifyReplay.Kernel Environment where
  add env decl := match env.addDeclCore 0 decl none with
    | .ok env => .ok env
    | .error _ => .error "(kernel) the declaration does not type check"
  find? env name := env.find? name

def replay (env : Environment) (constants : Std.HashMap Name ConstantInfo) : IO (Name → Option ConstantInfo) := do
  let replayed ← IO.ofExcept (ProverCertifyReplay.replay kernel env constants)
  return fun name => replayed.find? name

end ProverCertifyShim
