/-
prover-certify: the checker of lean-prover's certified tier (built by `prover setup`).

    prover_certify REFERENCE.olean CANDIDATE.olean THEOREM NONCE

REFERENCE.olean is compiled from trusted text only: the problem's header and context and its
statement proved by `sorry`. CANDIDATE.olean is compiled from the same header and context, the
helpers and the proof. Nothing the candidate's elaboration did is trusted: every constant of its
module is replayed through the kernel on top of its imports. The theorem named THEOREM (its
last name component; the reference module fixes its full name) must then be a theorem whose
type and universe parameters are the reference's (`Expr.equal`: syntactic), and the axioms it
depends on are listed. No constant of the candidate module may be `unsafe`.

Prints one line of JSON and exits 0 when it could judge (the verdict is in the JSON), 1 when it
could not (the reason is in the JSON), 2 on bad arguments.
-/
import Lean

open Lean

def checkerVersion : String := "prover-certify/1"

def lastComponent : Name → String
  | .str _ s => s
  | _ => ""

/-- The one public constant of `names` whose last component is `short`. -/
def findTarget (names : Array Name) (short : String) : Except String Name :=
  let hits := names.filter fun n => lastComponent n == short && !n.isInternal
  if hits.size == 1 then .ok hits[0]! else .error s!"{hits.size} declarations named {short}"

/-- The constants of a compiled module, replayed through the kernel on top of its imports. -/
def replayModule (path : System.FilePath) : IO (Environment × ModuleData) := do
  unless (← path.pathExists) do
    throw <| IO.userError s!"{path} does not exist"
  let (mod, _) ← readModuleData path
  let env ← importModules mod.imports {} 0
  let mut constants : Std.HashMap Name ConstantInfo := {}
  for name in mod.constNames, info in mod.constants do
    constants := constants.insert name info
  let env ← env.replay constants
  return (env, mod)

def axiomsOf (env : Environment) (name : Name) : Array Name :=
  let ((), state) := ((CollectAxioms.collect name).run env).run {}
  state.axioms

def judge (reference candidate : System.FilePath) (short nonce : String) : IO Json := do
  let (referenceModule, _) ← readModuleData reference
  let target ← IO.ofExcept (findTarget referenceModule.constNames short)
  let some referenceInfo := (referenceModule.constNames.zip referenceModule.constants).find? (·.1 == target)
    | throw <| IO.userError s!"the reference module has no {target}"
  let (env, candidateModule) ← replayModule candidate
  let unsafeNames := (candidateModule.constNames.zip candidateModule.constants).filterMap fun (n, info) =>
    if info.isUnsafe then some n else none
  let base := [("checker", Json.str checkerVersion), ("lean", Json.str Lean.versionString),
    ("nonce", Json.str nonce), ("theorem", Json.str target.toString),
    ("replayed", toJson candidateModule.constNames.size),
    ("unsafe", Json.arr (unsafeNames.map fun n => Json.str n.toString))]
  match env.find? target with
  | none => return Json.mkObj (base ++ [("found", Json.bool false)])
  | some info =>
    let isTheorem := match info with
      | .thmInfo _ => true
      | _ => false
    let sameType := Expr.equal info.type referenceInfo.2.type
    let sameLevels := info.levelParams == referenceInfo.2.levelParams
    let axioms := axiomsOf env target
    return Json.mkObj (base ++ [("found", Json.bool true), ("is_theorem", Json.bool isTheorem),
      ("same_type", Json.bool sameType), ("same_levels", Json.bool sameLevels),
      ("axioms", Json.arr (axioms.map fun n => Json.str n.toString))])

def main (args : List String) : IO UInt32 := do
  match args with
  | [reference, candidate, short, nonce] =>
    initSearchPath (← findSysroot)
    try
      let report ← judge reference candidate short nonce
      IO.println report.compress
      return 0
    catch error =>
      IO.println (Json.mkObj [("checker", Json.str checkerVersion), ("nonce", Json.str nonce),
        ("error", Json.str (toString error))]).compress
      return 1
  | _ =>
    IO.eprintln "usage: prover_certify REFERENCE.olean CANDIDATE.olean THEOREM NONCE"
    return 2
