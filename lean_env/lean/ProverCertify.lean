/-
prover-certify: the checker of lean-prover's certified tier (built by `prover setup`).

    prover_certify REFERENCE.olean CANDIDATE.olean THEOREM NONCE
    prover_certify - CANDIDATE.olean THEOREM NONCE

REFERENCE.olean is compiled from trusted text only: the problem's header and context and its
statement proved by `sorry`. CANDIDATE.olean is compiled from the same header and context, the
helpers and the proof. Nothing the candidate's elaboration did is trusted:

* the candidate must import exactly what the reference imports;
* every constant of its module is replayed through the kernel on top of its imports, with no
  heartbeat limit (the header may set `maxHeartbeats 0`, and a proof that compiled must not
  fail here for want of time); unsafe constants are not replayed (the old code generator of
  Lean 4.15 keeps compiled code of every computable definition as unsafe `_cstage1`/`_cstage2`
  constants; a safe constant that used an unsafe one would fail its replay);
* the theorem named THEOREM (its last name component; the reference module fixes its full
  name) must be a theorem whose type is the reference's up to binder names (`==` on `Expr`,
  `Lean.Expr.eqv`: leanprover/lean4 `src/Lean/Expr.lean`, "alpha equivalent, binder
  annotations are ignored") with the same universe parameters;
* its axioms are listed by their kernel names, and the constants of its type that the module
  itself defines.

With `-` for a reference (a file nobody vouches for), the theorem is the one theorem of the
module with that last component, and only the replay, its axioms and those constants are
reported.

The kernel is reached through `ProverCertifyShim` (one small file per Lean release, chosen by
`prover setup`: `Environment.addDeclCore` on 4.15, `Kernel.Environment.addDeclCore` on 4.18 to
4.28, `Kernel.Environment.replay` after leanprover/lean4#12972 and #14391).

Prints one line of JSON and exits 0 when it could judge (the verdict is in the JSON), 1 when it
could not (the reason is in the JSON), 2 on bad arguments.
-/
import Lean
import ProverCertifyShim

open Lean

def checkerVersion : String := "prover-certify/2"

def lastComponent : Name → String
  | .str _ s => s
  | _ => ""

def nameParts (n : Name) : Json :=
  Json.arr (n.components.toArray.map fun part =>
    match part with
    | .str _ s => Json.str s
    | .num _ k => Json.str (toString k)
    | .anonymous => Json.str "")

/-- The one constant of `names` (not an internal one) whose last component is `short` and that
`accept` takes. -/
def findTarget (names : Array Name) (short : String) (accept : Name → Bool) : Except String Name :=
  let hits := names.filter fun n => lastComponent n == short && !n.isInternal && accept n
  if hits.size == 1 then .ok hits[0]! else .error s!"{hits.size} declarations named {short}"

/-- The axioms `root` depends on, through the constants `find?` knows. -/
def axiomsOf (find? : Name → Option ConstantInfo) (root : Name) : Array Name := Id.run do
  let mut todo : List Name := [root]
  let mut seen : NameSet := {}
  let mut found : Array Name := #[]
  repeat
    match todo with
    | [] => break
    | n :: rest =>
      todo := rest
      if seen.contains n then
        continue
      seen := seen.insert n
      match find? n with
      | some (.axiomInfo _) => found := found.push n
      | some info => todo := info.getUsedConstantsAsSet.toList ++ todo
      | none => pure ()
  return found

structure CheckedModule where
  imports : Array Name
  constants : Std.HashMap Name ConstantInfo
  names : Array Name

def readModule (path : System.FilePath) : IO (CheckedModule × Array Import) := do
  unless (← path.pathExists) do
    throw <| IO.userError s!"{path} does not exist"
  let (mod, _) ← readModuleData path
  let mut constants : Std.HashMap Name ConstantInfo := {}
  for name in mod.constNames, info in mod.constants do
    constants := constants.insert name info
  return ({ imports := mod.imports.map (·.module), constants, names := mod.constNames }, mod.imports)

def judge (reference? : Option System.FilePath) (candidate : System.FilePath) (short nonce : String) : IO Json := do
  let (candidateModule, imports) ← readModule candidate
  let (target, referenceInfo?, importsMatch) ← match reference? with
    | some path => do
      let (referenceModule, _) ← readModule path
      let target ← IO.ofExcept (findTarget referenceModule.names short fun _ => true)
      let some info := referenceModule.constants[target]?
        | throw <| IO.userError s!"the reference module has no {target}"
      pure (target, some info, referenceModule.imports == candidateModule.imports)
    | none => do
      let isTheorem := fun (n : Name) => match candidateModule.constants[n]? with
        | some (.thmInfo _) => true
        | _ => false
      let target ← IO.ofExcept (findTarget candidateModule.names short isTheorem)
      pure (target, none, true)
  let unsafeNames := candidateModule.names.filter fun n => match candidateModule.constants[n]? with
    | some info => info.isUnsafe
    | none => false
  let base := [("checker", Json.str checkerVersion), ("lean", Json.str Lean.versionString),
    ("nonce", Json.str nonce), ("theorem", Json.str target.toString), ("theorem_parts", nameParts target),
    ("imports_match", Json.bool importsMatch), ("replayed", toJson candidateModule.names.size),
    ("unsafe_skipped", Json.arr (unsafeNames.map fun n => Json.str n.toString))]
  unless importsMatch do
    return Json.mkObj (base ++ [("found", Json.bool false)])
  let env ← importModules imports {} 0
  let find? ← ProverCertifyShim.replay env candidateModule.constants
  match find? target with
  | none => return Json.mkObj (base ++ [("found", Json.bool false)])
  | some info =>
    let isTheorem := match info with
      | .thmInfo _ => true
      | _ => false
    let localConstants := info.type.getUsedConstants.filter fun c => candidateModule.constants.contains c
    let compared := match referenceInfo? with
      | some referenceInfo =>
        [("has_reference", Json.bool true), ("same_type", Json.bool (info.type == referenceInfo.type)),
         ("same_levels", Json.bool (info.levelParams == referenceInfo.levelParams))]
      | none => [("has_reference", Json.bool false)]
    return Json.mkObj (base ++ [("found", Json.bool true), ("is_theorem", Json.bool isTheorem),
      ("axioms", Json.arr ((axiomsOf find? target).map nameParts)),
      ("local_constants", Json.arr (localConstants.map nameParts))] ++ compared)

def main (args : List String) : IO UInt32 := do
  match args with
  | [reference, candidate, short, nonce] =>
    initSearchPath (← findSysroot)
    let reference? := if reference == "-" then none else some (System.FilePath.mk reference)
    try
      let report ← judge reference? candidate short nonce
      IO.println report.compress
      return 0
    catch error =>
      IO.println (Json.mkObj [("checker", Json.str checkerVersion), ("nonce", Json.str nonce),
        ("error", Json.str (toString error))]).compress
      return 1
  | _ =>
    IO.eprintln "usage: prover_certify REFERENCE.olean|- CANDIDATE.olean THEOREM NONCE"
    return 2
