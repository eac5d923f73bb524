"""What a Lean environment of the REPL double holds, and how Lean answers lean-prover's queries
in it. Tests only.

Each environment the double hands out is an `EnvState`: the declarations made so far (by the
header, the kit, a context, a candidate), the namespace and scopes the REPL carries from one
command to the next (leanprover-community/repl `REPL/Main.lean`: a command continues the whole
`Command.State` of the environment it names), and the queries compiled in it. The query's
answer follows the Lean facts the checks rely on (docs/verification.md, "Lean facts we rely on"):

- a non-dependent arrow's binder, and those binder predicates (`∀ x > 0,`, `∃ x ∈ s,`) expand
  to, are named hygienically (`elabArrow`: `MonadQuotation.addMacroScope `a`), and the REPL
  carries the macro-scope counter between commands: the same statement elaborated in two
  commands has types that `Expr.equal` (binder names compared) tells apart and `Expr.eqv`
  (alpha-equivalence) does not;
- an identifier resolves in the current namespace (and its prefixes) before the root, and
  `_root_.x` is `x` at the root (`Lean.ResolveName.resolveGlobalName`): a query that names its
  functions unqualified, run where a candidate left `namespace X` open, calls `X.f` when the
  candidate defined one; a query compiled before the candidate ran calls what its names meant then;
- instance resolution and name resolution put the candidate's own instances and definitions
  into the statement's elaborated type when they apply (a statement elaborated before them, the
  reference, has the library's);
- `collectAxioms` lists axioms by their kernel names: `«Classical.choice»` (one component) is
  not `Classical.choice`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lean_syntax import DECLARATION_KINDS, Reading, Tok, ident_parts

def must_match(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text`, which the double was built to see there."""
    found = re.search(pattern, text)
    assert found is not None, f"the double expected {pattern!r}"
    return found[1]


HYGIENIC = re.compile(r"→|->|[∀∃]\s*[^,:]+?\s*(?:>|<|≥|≤|≠|∈|∉|⊆)")
STANDARD = [["propext"], ["Classical", "choice"], ["Quot", "sound"]]


@dataclass
class Decl:
    name: tuple[str, ...]
    keyword: str
    signature: str
    """The declaration's binders and type, token by token."""
    mentions: set[str]
    """The last components of the identifiers in the signature."""
    body: set[str]
    """The identifiers of its value (the proof)."""
    serial: int
    """Which command made it (the kit and header come first)."""
    position: tuple[int, int]
    """(serial, its place among the command's declarations): what came before it."""
    text: str
    """The whole command's text."""
    uses_sorry: bool = False
    """Its value holds a `sorry`."""


@dataclass
class QuerySpec:
    nonce: str
    declared: tuple[str, ...]
    scope: tuple[str, ...]
    reference: tuple[str, ...] | None
    compiled_at: int
    """The serial of the command that compiled it: what its names meant then."""


@dataclass
class EnvState:
    namespace: tuple[str, ...] = ()
    scopes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    decls: dict[tuple[str, ...], Decl] = field(default_factory=dict)
    instances: list[Decl] = field(default_factory=list)
    queries: dict[str, QuerySpec] = field(default_factory=dict)
    serial: int = 0
    kit_serial: int = -1
    text: str = ""

    def then(self) -> EnvState:
        """The state a command on this environment starts from (declarations are shared: a
        command only adds)."""
        return EnvState(self.namespace, list(self.scopes), dict(self.decls), list(self.instances), dict(self.queries),
                        self.serial + 1, self.kit_serial, self.text)

    def record(self, text: str, reading: Reading) -> None:
        """The declarations, instances and scopes of a command that ran."""
        self.text += text
        for index, command in enumerate(reading.commands):
            if command.keyword not in DECLARATION_KINDS:
                continue
            name = command.declared
            if name[:1] == ("_root_",):
                full = name[1:]
            else:
                full = command.namespace + name
            if command.keyword == "instance" and not name:
                full = command.namespace + (f"inst{self.serial}_{len(self.instances)}",)
            signature, body = _split_signature(command.tokens)
            decl = Decl(full, command.keyword, " ".join(t.text for t in signature),
                        {ident_parts(t.text)[-1] for t in signature if t.kind == "ident"},
                        {".".join(ident_parts(t.text)) for t in body if t.kind == "ident"}
                        | {ident_parts(t.text)[-1] for t in body if t.kind == "ident"}, self.serial,
                        (self.serial, index), text, any(t.text == "sorry" for t in body))
            self.decls[full] = decl
            if command.keyword == "instance":
                self.instances.append(decl)
        self.namespace, self.scopes = reading.namespace, reading.scopes


def _split_signature(tokens: list[Tok]) -> tuple[list[Tok], list[Tok]]:
    """A declaration's tokens after its name up to `:=` (its signature), and after."""
    depth = 0
    start = 2 if len(tokens) > 1 and tokens[1].kind == "ident" else 1
    for k in range(start, len(tokens)):
        text = tokens[k].text
        depth += text in ("(", "[", "{", "⟨") and 1 or text in (")", "]", "}", "⟩") and -1 or 0
        if text == ":=" and depth == 0:
            return tokens[start:k], tokens[k + 1 :]
    return tokens[start:], []


def _hijacks(state: EnvState, decl: Decl, since: int) -> list[tuple[str, ...]]:
    """Constants made by commands from `since` on, before `decl`, that its elaborated type
    mentions: an instance on a type the statement uses (resolution picks it), a definition of
    a name the statement uses (resolution finds it first)."""
    mentioned = []
    for other in state.decls.values():
        if other is decl or other.position[0] < since or not other.position < decl.position:
            continue
        if other.keyword == "instance" and _types(other.mentions) & _types(decl.mentions):
            mentioned.append(other.name)
        elif other.keyword in ("def", "abbrev") and other.name[-1] in decl.mentions:
            mentioned.append(other.name)
    return mentioned


def _types(names: set[str]) -> set[str]:
    """The names among `names` that can be types (not variables such as `x` or `h₀`)."""
    return {n for n in names if not re.fullmatch(r"[a-z][0-9₀-₉']*|h\S*", n)}


def _declared_axioms(state: EnvState, decl: Decl) -> list[list[str]]:
    return [list(other.name) for other in state.decls.values()
            if other.keyword == "axiom" and (".".join(other.name) in decl.body or other.name[-1] in decl.body)]


def full_decl_name(scope: tuple[str, ...], declared: tuple[str, ...]) -> tuple[str, ...]:
    return declared[1:] if declared[:1] == ("_root_",) else scope + declared


def answer_query(state: EnvState, spec: QuerySpec) -> dict:
    """The kit's `theoremReport` for `spec`, as Lean would compute it in `state` (the report's
    JSON fields; markers in the candidate's text adjust it as before)."""
    scope = spec.reference[:-1] if spec.reference is not None else spec.scope
    target = full_decl_name(scope, spec.declared)
    decl = state.decls.get(target)
    if decl is None or "OTHER_NAMESPACE" in state.text:
        return {"theorem": list(target), "found": False}
    report: dict = {"theorem": list(target), "found": True,
                    "is_theorem": decl.keyword in ("theorem", "lemma") and "NOT_A_THEOREM" not in decl.text}
    axioms = [] if "NO_AXIOMS" in decl.text else list(STANDARD)
    if "CHEAT_AXIOM" in decl.text:
        axioms.append(["cheatAx"])
    if decl.uses_sorry or any(other.uses_sorry and other.name[-1] in decl.body for other in state.decls.values()
                              if other is not decl and other.name[-1:] != ("prover_reference",)):
        axioms.append(["sorryAx"])
    axioms += _declared_axioms(state, decl)
    report["axioms"] = axioms
    after_kit = state.kit_serial + 1
    report["local_constants"] = [list(n) for n in _hijacks(state, decl, after_kit)]
    if spec.reference is not None:
        reference = state.decls.get(spec.reference)
        report["has_reference"] = reference is not None
        if reference is not None:
            hijacked = _hijacks(state, decl, reference.serial + 1)
            report["same_type"] = (reference.signature == decl.signature and not hijacked
                                   and "WRONG_TYPE" not in decl.text)
            report["same_levels"] = True
    else:
        report["has_reference"] = False
    return report


def answer_old_query(state: EnvState, text: str, nonce: str) -> str:
    """The one line the query of lean-prover before Lean's parse took over printed: `#eval`
    of a `MetaM` block that names its functions unqualified, compares with `Expr.equal` and
    prints axioms with `Name.toString`, run in the candidate's environment and scope."""
    name = must_match(r"mkIdent `(\S+)\)\n  let reference", text)
    reference = must_match(r"mkIdent `(prover_reference_[0-9a-f]+)\)", text)
    functions = {"collectAxioms", "Expr.equal", "String.intercalate", "Name.toString", "List.map", "getConstInfo"}
    if state.namespace:
        for function in functions:
            shadow = state.decls.get(state.namespace + tuple(function.split(".")))
            if shadow is not None and shadow.serial > state.kit_serial:
                # The candidate's own function runs, on the query's own fields (nonce included).
                return f"prover-check {nonce} {name} {reference} theorem same-type propext"
    decl = state.decls.get(state.namespace + tuple(ident_parts(name)))
    ref = next((d for d in state.decls.values() if d.name[-1:] == (reference,)), None)
    if decl is None or ref is None:
        return ""
    equal = ref.signature == decl.signature and not HYGIENIC.search(decl.signature) and not _hijacks(
        state, decl, ref.serial + 1) and "WRONG_TYPE" not in decl.text
    axioms = [] if "NO_AXIOMS" in decl.text else [".".join(a) for a in STANDARD]
    axioms += [".".join(f"«{p}»" if "." in p else p for p in a) for a in _declared_axioms(state, decl)]
    kind = "theorem" if decl.keyword in ("theorem", "lemma") else "other"
    proved = ".".join(state.namespace + tuple(ident_parts(name)))
    return (f"prover-check {nonce} {proved} {'.'.join(ref.name)} {kind} {'same-type' if equal else 'other-type'} "
            f"{','.join(axioms)}")
