/-
A module's constants replayed through the kernel, in dependency order: lean-prover's certified
tier on Lean releases whose library has no replay of its own that it can use (v4.15 to v4.33).
Each declaration goes to the kernel once its constants are in; an inductive block goes as one
declaration, and the constructors and recursors the kernel then generates must be the module's
own. The method is lean4checker's (leanprover/lean4checker `Lean4Checker/Replay.lean`); the
kernel is reached through `Kernel`, which each release's `ProverCertifyShim` fills in.
-/
import Lean

open Lean

namespace ProverCertifyReplay

/-- What a replay needs of the kernel: add a declaration, checking it; look a constant up. -/
structure Kernel (σ : Type) where
  add : σ → Declaration → Except String σ
  find? : σ → Name → Option ConstantInfo

structure State (σ : Type) where
  kernel : σ
  done : NameSet := {}

abbrev ReplayM (σ : Type) := StateT (State σ) (Except String)

def addChecked {σ : Type} (k : Kernel σ) (decl : Declaration) (name : Name) : ReplayM σ Unit := do
  match k.add (← get).kernel decl with
  | .ok kernel => modify fun s => { s with kernel := kernel }
  | .error message => throw s!"the kernel rejects {name}: {message}"

def markDone {σ : Type} (name : Name) : ReplayM σ Unit :=
  modify fun s => { s with done := s.done.insert name }

/-- `name` and, first, every constant of the module it depends on. Unsafe and partial
constants are not replayed (a safe constant that uses one then fails its own replay). -/
partial def replayName {σ : Type} (k : Kernel σ) (constants : Std.HashMap Name ConstantInfo) (name : Name) :
    ReplayM σ Unit := do
  if (← get).done.contains name then
    return
  let some info := constants[name]?
    | return
  markDone name
  if info.isUnsafe || info.isPartial then
    return
  match info with
  | .ctorInfo v => replayName k constants v.induct
  | .recInfo _ => replayName k constants name.getPrefix
  | .inductInfo v =>
    let mut types : List InductiveType := []
    let mut uses : Array Name := #[]
    for typeName in v.all do
      let some (.inductInfo t) := constants[typeName]?
        | throw s!"the module has no inductive type {typeName}"
      markDone typeName
      let mut ctors : List Constructor := []
      for ctorName in t.ctors do
        let some (.ctorInfo c) := constants[ctorName]?
          | throw s!"the module has no constructor {ctorName}"
        markDone ctorName
        ctors := ctors ++ [{ name := c.name, type := c.type }]
        uses := uses ++ c.type.getUsedConstants
      types := types ++ [{ name := t.name, type := t.type, ctors := ctors }]
      uses := uses ++ t.type.getUsedConstants
    for used in uses do
      replayName k constants used
    addChecked k (Declaration.inductDecl v.levelParams v.numParams types v.isUnsafe) name
  | _ =>
    for used in info.getUsedConstantsAsSet.toList do
      replayName k constants used
    let decl ← match info with
      | .defnInfo v => pure (Declaration.defnDecl v)
      | .thmInfo v => pure (Declaration.thmDecl v)
      | .axiomInfo v => pure (Declaration.axiomDecl v)
      | .opaqueInfo v => pure (Declaration.opaqueDecl v)
      | .quotInfo _ => pure Declaration.quotDecl
      | _ => throw s!"cannot replay {name}"
    addChecked k decl name

/-- The constructors and recursors the kernel generated are the module's. -/
def checkGenerated {σ : Type} (k : Kernel σ) (constants : Std.HashMap Name ConstantInfo) (kernel : σ) :
    Except String Unit := do
  for (name, info) in constants.toList do
    if info.isUnsafe then
      continue
    match info, k.find? kernel name with
    | .ctorInfo v, some (.ctorInfo generated) =>
      unless v == generated do throw s!"the constructor {name} is not the one its type generates"
    | .recInfo v, some (.recInfo generated) =>
      unless v == generated do throw s!"the recursor {name} is not the one its type generates"
    | .ctorInfo _, _ => throw s!"no constructor {name} after the replay"
    | .recInfo _, _ => throw s!"no recursor {name} after the replay"
    | _, _ => pure ()

def replay {σ : Type} (k : Kernel σ) (start : σ) (constants : Std.HashMap Name ConstantInfo) : Except String σ := do
  let ((), state) ← (constants.toList.forM fun entry => replayName k constants entry.1).run { kernel := start }
  checkGenerated k constants state.kernel
  return state.kernel

end ProverCertifyReplay
