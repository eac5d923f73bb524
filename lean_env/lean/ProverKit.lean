/-
ProverKit: the trusted commands that lean-prover's fast tier runs inside the REPL.

`lean_env/kit.py` sends this file as one command, once per REPL process, right after the
header's `import`s and before anything else (the header's own options and `open`s come after
it): it is elaborated in the root namespace with nothing opened, so every name below means the
one in Lean's own library. It compiles two things that run later in the same process:

* `prover_parse NONCE MODE TEXT` (run before any candidate text is elaborated): Lean's own
  parser reads TEXT (a candidate's commands, or one tactic) in the current environment and
  scope, and one info message `prover-parse NONCE {json}` reports every command, every syntax
  node kind, identifier, attribute and option in it, parse errors, and the scopes it leaves
  open. The allowlist (`lean_env/syntax_policy.py`) is applied to that report.
* `ProverKit.queryAgainst` / `ProverKit.queryAlone`, which each check wraps in a command of its
  own (`lean_env/kit.py`, `query_elaborator`) defined before the candidate runs: one info
  message `prover-check NONCE {json}` reports the proved theorem, whether its type is the
  reference's (`Lean.Expr.eqv`: alpha-equivalence), its universe parameters, its axioms, and the
  constants of its type that do not come from the imports.

Sources this relies on (leanprover/lean4 unless said otherwise; read at v4.15.0 and at the
current release): the frontend's command loop (`src/Lean/Elab/Frontend.lean`,
`processCommand`: `Parser.parseCommand` with `{ env, options := scope.opts, currNamespace,
openDecls }`, stopping at `Parser.isTerminalCommand`), `src/Lean/Parser/Module.lean`
(`parseCommand`, `isTerminalCommand`), the REPL's tactic mode parsing a tactic with
`Parser.runParserCategory env `tactic` (leanprover-community/repl, `REPL/Snapshots.lean`,
`ProofSnapshot.runString`, tags v4.15.0 to v4.33.0-rc2), `Lean.Expr.eqv` ("alpha equivalent,
binder annotations are ignored", `src/Lean/Expr.lean`) against `Lean.Expr.equal` (binder
names compared), `Lean.collectAxioms` (`src/Lean/Util/CollectAxioms.lean`), and
`Environment.getModuleIdxFor?` (none for constants of the current module).
-/
namespace ProverKit

open Lean Elab Command

/-- A name as the JSON list of its components: `Classical.choice` is `["Classical","choice"]`,
and the one-component name `«Classical.choice»` is `["Classical.choice"]`. -/
def nameParts (n : Name) : Json :=
  Json.arr (n.components.toArray.map fun part =>
    match part with
    | .str _ s => Json.str s
    | .num _ k => Json.str (toString k)
    | .anonymous => Json.str "")

/-- The 1-based line where `stx` starts in the text `fileMap` was made from; 0 if unknown. -/
def lineAt (fileMap : FileMap) (stx : Syntax) : Nat :=
  match stx.getPos? with
  | some pos => (fileMap.toPosition pos).line
  | none => 0

/-- What a parse found, each kind and identifier once, with the line it first occurs on. -/
structure SyntaxFound where
  kinds : Array (Name × Nat) := #[]
  idents : Array (Name × Nat) := #[]
  /-- Each attribute: the kind of its syntax node, its name when it is a simple attribute
  (`Lean.Parser.Attr.simple`, e.g. `reducible`), and its line. -/
  attributes : Array (Name × Name × Nat) := #[]
  /-- The option of each `set_option` (as a command, a term or a tactic). -/
  options : Array (Name × Nat) := #[]
  deriving Inhabited

/-- Every node of `stx`, depth first. -/
partial def visitSyntax (fileMap : FileMap) (found : SyntaxFound) (stx : Syntax) : SyntaxFound :=
  match stx with
  | .node _ kind args =>
    let line := lineAt fileMap stx
    let found := if found.kinds.any (fun entry => entry.1 == kind) then found
      else { found with kinds := found.kinds.push (kind, line) }
    let found := if kind == `Lean.Parser.Term.attrInstance then
        let attr := stx.getArg 1
        let simple := if attr.getKind == `Lean.Parser.Attr.simple then (attr.getArg 0).getId else Name.anonymous
        { found with attributes := found.attributes.push (attr.getKind, simple, line) }
      else found
    let found := match kind with
      | .str _ "set_option" => { found with options := found.options.push ((stx.getArg 1).getId, line) }
      | _ => found
    args.foldl (visitSyntax fileMap) found
  | .ident _ _ val _ =>
    if found.idents.any (fun entry => entry.1 == val) then found
    else { found with idents := found.idents.push (val, lineAt fileMap stx) }
  | _ => found

/-- A command and, through `in` (`open Foo in cmd`, `set_option o v in cmd`), the commands it
is made of: `Lean.Parser.Command.in` is a trailing parser whose arguments are the command
before `in`, the atom `in`, and the command after it (`src/Lean/Parser/Command.lean`). -/
partial def chainOf (stx : Syntax) : Array Name :=
  if stx.getKind == `Lean.Parser.Command.in then
    #[stx.getKind] ++ chainOf (stx.getArg 0) ++ chainOf (stx.getArg 2)
  else
    #[stx.getKind]

def pairs (entries : Array (Name × Nat)) : Json :=
  Json.arr (entries.map fun entry => Json.arr #[nameParts entry.1, toJson entry.2])

def foundFields (found : SyntaxFound) : List (String × Json) :=
  [("kinds", pairs found.kinds), ("idents", pairs found.idents),
   ("attributes", Json.arr (found.attributes.map fun entry =>
      Json.arr #[nameParts entry.1, nameParts entry.2.1, toJson entry.2.2])),
   ("options", pairs found.options)]

/-- The error messages of `messages`, with their positions. -/
def errorList (messages : MessageLog) : CommandElabM (Array Json) := do
  let mut out : Array Json := #[]
  for message in messages.toList do
    match message.severity with
    | .error =>
      out := out.push (Json.mkObj [("line", toJson message.pos.line), ("column", toJson message.pos.column),
        ("message", Json.str (← message.data.toString))])
    | _ => pure ()
  return out

/-- The commands whose elaboration changes how later commands parse: scoped syntax comes into
play with `open` and `namespace` and leaves with `end`, options with `set_option`. -/
def scopeCommands : Array Name :=
  #[`Lean.Parser.Command.namespace, `Lean.Parser.Command.section, `Lean.Parser.Command.noncomputableSection,
    `Lean.Parser.Command.end, `Lean.Parser.Command.open, `Lean.Parser.Command.set_option]

/-- `input` read command by command as the frontend reads it, in the current environment and
scope, elaborating only the scope commands (nothing else of the input runs); the state is
restored afterwards. A parse error does not stop it: `parseCommand` recovers at the next
command, as it does for the frontend, so every command the frontend will elaborate is reported. -/
def readCommands (input : String) : CommandElabM Json := do
  let saved ← get
  let fileMap := FileMap.ofString input
  let inputCtx := Parser.mkInputContext input "<candidate>"
  let mut parserState : Parser.ModuleParserState := {}
  let mut commands : Array Json := #[]
  let mut found : SyntaxFound := {}
  let mut errors : Array Json := #[]
  repeat
    let scope ← getScope
    let pmctx : Parser.ParserModuleContext :=
      { env := ← getEnv, options := scope.opts, currNamespace := scope.currNamespace, openDecls := scope.openDecls }
    let (cmd, nextState, messages) := Parser.parseCommand inputCtx pmctx parserState {}
    parserState := nextState
    if messages.hasErrors then
      errors := errors ++ (← errorList messages)
    if cmd.getKind == `Lean.Parser.Module.eoi || cmd.getKind == `Lean.Parser.Command.eoi then
      break
    commands := commands.push (Json.mkObj [("chain", Json.arr ((chainOf cmd).map nameParts)),
      ("line", toJson (lineAt fileMap cmd)), ("namespace", nameParts scope.currNamespace)])
    found := visitSyntax fileMap found cmd
    if Parser.isTerminalCommand cmd then
      break
    if scopeCommands.contains cmd.getKind then
      -- An error here (`open` of a namespace only the input's own declarations would create,
      -- a mismatched `end`) is the candidate's own to report when it runs; only the parse matters.
      try elabCommand cmd catch _ => pure ()
  let depth := saved.scopes.length
  let now := (← get).scopes
  let unclosed := (now.take (now.length - depth)).map (fun s => Json.str s.header)
  set saved
  return Json.mkObj ([("commands", Json.arr commands), ("errors", Json.arr errors),
    ("unclosed", Json.arr unclosed.toArray)] ++ foundFields found)

/-- One tactic read as the REPL's tactic mode reads it. -/
def readTactic (input : String) : CommandElabM Json := do
  match Parser.runParserCategory (← getEnv) `tactic input "<tactic>" with
  | .error message =>
    return Json.mkObj [("commands", Json.arr #[]), ("unclosed", Json.arr #[]),
      ("errors", Json.arr #[Json.mkObj [("line", toJson (0 : Nat)), ("column", toJson (0 : Nat)),
        ("message", Json.str message)]])]
  | .ok stx =>
    let found := visitSyntax (FileMap.ofString input) {} stx
    return Json.mkObj ([("commands", Json.arr #[]), ("errors", Json.arr #[]), ("unclosed", Json.arr #[])] ++ foundFields found)

def emit (tag nonce : String) (json : Json) : CommandElabM Unit :=
  logInfo (MessageData.ofFormat (Std.Format.text (tag ++ " " ++ nonce ++ " " ++ json.compress)))

elab "prover_parse " nonce:str mode:str text:str : command => do
  let json ← if mode.getString == "tactic" then readTactic text.getString else readCommands text.getString
  emit "prover-parse" nonce.getString json

/-- The full name Lean gives a declaration written `declared` in namespace `scope`: a name
under `_root_` leaves the namespace out (`Lean.Elab.mkDeclName`, `src/Lean/Elab/DeclUtil.lean`). -/
def fullDeclName (scope declared : Name) : Name :=
  if (`_root_).isPrefixOf declared then declared.replacePrefix `_root_ Name.anonymous else scope ++ declared

def theoremReport (nonce : String) (reference : Option Name) (target : Name) : CommandElabM Unit := do
  let env ← getEnv
  let fields ← match env.find? target with
    | none => pure [("found", Json.bool false)]
    | some info => do
      let axioms ← collectAxioms target
      let isTheorem := match info with
        | .thmInfo _ => true
        | _ => false
      let localConstants := info.type.getUsedConstants.filter fun c => (env.getModuleIdxFor? c).isNone
      let compared := match reference.bind (fun r => env.find? r) with
        | some referenceInfo =>
          [("has_reference", Json.bool true),
           ("same_type", Json.bool (Lean.Expr.eqv info.type referenceInfo.type)),
           ("same_levels", Json.bool (info.levelParams == referenceInfo.levelParams))]
        | none => [("has_reference", Json.bool false)]
      pure ([("found", Json.bool true), ("is_theorem", Json.bool isTheorem),
        ("axioms", Json.arr (axioms.map nameParts)),
        ("local_constants", Json.arr (localConstants.map nameParts))] ++ compared)
  emit "prover-check" nonce (Json.mkObj ([("theorem", nameParts target)] ++ fields))

/-- The theorem written `declared` beside `reference` (the reference statement, declared before
any candidate text), compared with it. -/
def queryAgainst (nonce : String) (reference declared : Name) : CommandElabM Unit :=
  theoremReport nonce (some reference) (fullDeclName reference.getPrefix declared)

/-- The theorem written `declared` in namespace `scope`, with no reference (`prover check`
without one): only its own type, axioms and the constants its type mentions are reported. -/
def queryAlone (nonce : String) (scope declared : Name) : CommandElabM Unit :=
  theoremReport nonce none (fullDeclName scope declared)

end ProverKit
