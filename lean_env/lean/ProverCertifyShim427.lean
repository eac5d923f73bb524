/-
The kernel of Lean v4.18 to v4.33 for lean-prover's checker (`prover setup` installs this file
as `ProverCertifyShim.lean`): the kernel has its own environment, `Kernel.Environment`
(`env.toKernelEnv`), and `Kernel.Environment.addDeclCore kenv 0 decl none` checks a declaration
with no heartbeat limit (as leanprover/lean4checker's `Lean4Checker/Replay.lean` does, tags
v4.18.0 to v4.27.0; the library's `Environment.replay` is deprecated from v4.19, leanprover/lean4#7311).
-/
import Lean
import ProverCertifyReplay

open Lean

namespace ProverCertifyShim

def kernel : ProverCertifyReplay.Kernel Kernel.Environment where
  add env decl := match env.addDeclCore 0 decl none with
    | .ok env => .ok env
    | .error _ => .error "(kernel) the declaration does not type check"
  find? env name := env.find? name

def replay (env : Environment) (constants : Std.HashMap Name ConstantInfo) : IO (Name → Option ConstantInfo) := do
  let replayed ← IO.ofExcept (ProverCertifyReplay.replay kernel env.toKernelEnv constants)
  return fun name => replayed.find? name

end ProverCertifyShim
