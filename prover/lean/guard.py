"""Static soundness guard: refuse tactics and proofs that could make Lean accept something unproved.

Runs before Lean sees any text (no Lean needed) on tokens from ``prover.lean.lexer``, which reads text as
Lean's parser does and raises on anything it cannot be sure of (then the text is refused). Lean stays the
judge of correctness; this guard removes the ways to *skip* judgement or to act outside the proof:

* token kinds: identifiers, numbers, plain strings, chars and symbols are allowed; ``#`` commands (``#eval``,
  ``#check``, ``#guard_msgs`` ... their output could forge the verifier's report), name literals and syntax
  quotations (metaprogramming) and interpolated strings (``s!"{..}"``: a parse error inside the braces makes
  Lean re-read the rest of the string as commands) are refused;
* proof holes: ``sorry``, ``admit``, ``sorryAx``, ``stop``, ``slim_check``/``plausible``, compiler internals;
* trusting the compiler: ``native_decide``, ``native`` (``decide +native``, ``native := true``),
  ``ofReduceBool``, ``bv_decide``/``bv_check`` (opt-in with ``allow_native_decide``);
* new trust: ``axiom``, ``opaque``, ``unsafe``, ``implemented_by``, ``extern``, ``csimp``;
* code that runs or changes syntax (``run_tac``, ``elab``, ``macro``, ``notation`` ...), messages on purpose
  (``trace``, ``trace_state``, ``dbg_trace``, ``extract_goal``, ``set_option trace.*``), external services
  (``polyrith``), and any command keyword: a proof must not leave its declaration;
* ``open``/``set_option`` only as ``... in`` followed by more proof (never last: it would wrap the verifier's
  next command); ``open`` only of plain namespaces (no ``renaming``/``hiding``/explicit lists);
  options only from an allow-list of resource and display options;
* search tactics (``exact?``, ``observe``, ``try?``, ``simp?`` ...: they print suggestions; opt-in with
  ``allow_search_tactics``).

Reasons name the offending token and its line and column. For whole proofs the statement must be the given
one (token-equal up to whitespace and comments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict

from prover.errors import ConfigError
from prover.lean.lexer import (
    LexError,
    Token,
    bracket_delta,
    code_tokens,
    name_parts,
    position,
)
from prover.lean.statement import proof_assign_index
from prover.settings import Settings, load_settings

#: Keywords that start a declaration (``lemma`` is Mathlib's ``theorem``).
DECL_WORDS = ("theorem", "lemma", "example", "def", "abbrev", "instance")
#: Words that put holes in a proof or reach compiler internals (includes the FPS reference list).
HOLE_WORDS = frozenset(
    {
        "sorry",
        "admit",
        "sorryAx",
        "stop",
        "slim_check",
        "plausible",
        "lcErased",
        "lcProof",
        "lcCast",
        "lcUnreachable",
        "Quot.lcInv",
        "lcInv",
        "lcAny",
        "admitGoal",
        "mkSorry",
    }
)
#: Trusting the compiler: ``native_decide`` and the axiom behind it.
NATIVE_WORDS = frozenset(
    {
        "native_decide",
        "native",
        "ofReduceBool",
        "reduceBool",
        "trustCompiler",
        "ofReduceNat",
        "reduceNat",
        "bv_decide",
        "bv_decide?",
        "bv_check",
    }
)
#: Declarations and attributes that add trust or replace code the kernel does not see.
TRUST_WORDS = frozenset({"axiom", "opaque", "unsafe", "implemented_by", "extern", "csimp", "partial"})
#: Commands and tactics that run meta code or change syntax.
META_WORDS = frozenset(
    {
        "run_cmd",
        "run_tac",
        "run_elab",
        "run_meta",
        "by_elab",
        "elab",
        "elab_rules",
        "macro",
        "macro_rules",
        "notation",
        "infix",
        "infixl",
        "infixr",
        "prefix",
        "postfix",
        "syntax",
        "declare_syntax_cat",
        "initialize",
        "builtin_initialize",
        "term_elab",
        "command_elab",
        "tactic_elab",
        "simproc",
        "dsimproc",
        "declare_simp_like_tactic",
        "binder_predicate",
        "register_option",
        "register_builtin_option",
        "import",
        "notation3",
        "declare_config_elab",
        "register_simp_attr",
        "register_label_attr",
        "unif_hint",
        "grind_pattern",
        "eval%",
    }
)
#: Output on purpose: messages could imitate the verifier's ``#print axioms`` report.
MESSAGE_WORDS = frozenset(
    {
        "trace_state",
        "dbg_trace",
        "dbgTrace",
        "dbgTraceIfShared",
        "logInfo",
        "logWarning",
        "logError",
        "logInfoAt",
        "throwError",
        "throwErrorAt",
        "extract_goal",
    }
)
#: Tactics that call services outside Lean.
EXTERNAL_WORDS = frozenset({"polyrith", "llmstep"})
#: Search tactics that print suggestions instead of (or besides) proving (FPS list included).
SEARCH_WORDS = frozenset(
    {
        "exact?",
        "apply?",
        "rw?",
        "hint",
        "says",
        "rw_search",
        "change?",
        "have?",
        "unfold?",
        "try_this",
        "simp?",
        "simp?!",
        "simp_all?",
        "simp_all?!",
        "dsimp?",
        "dsimp?!",
        "simp_arith?",
        "norm_num?",
        "aesop?",
        "show_term",
        "observe?",
        "library_search",
        "suggest",
        "rfl?",
        "field_simp?",
        "push_cast?",
        "calc?",
        "gcongr?",
        "bound?",
        "norm_cast?",
        "constructor?",
        "rw??",
        "observe",
        "try?",
        "exact?%",
        "positivity?",
        "fun_prop?",
        "apply_rules?",
        "decide?",
        "grind?",
        "omega?",
        "simp_arith?!",
        "simpa?",
        "simpa?!",
        "norm_num1?",
        "field_simp?!",
        "by?",
    }
)
#: Keywords that start a new command; in a proof they would escape the ``by`` block.
COMMAND_WORDS = frozenset(
    {
        *DECL_WORDS,
        "axiom",
        "opaque",
        "structure",
        "class",
        "inductive",
        "coinductive",
        "mutual",
        "namespace",
        "section",
        "end",
        "variable",
        "universe",
        "attribute",
        "deriving",
        "export",
        "noncomputable",
        "private",
        "protected",
        "initialize",
        "omit",
        "include",
        "add_decl_doc",
        "library_note",
        "assert_not_exists",
        "compile_inductive",
        "irreducible_def",
        "alias",
        "local",
        "scoped",
        "nonrec",
        "public",
        "meta",
        "module",
        "prelude",
        "unseal",
        "seal",
        "proof_wanted",
        "recall",
        "suppress_compilation",
        "unsuppress_compilation",
        "declare_aesop_rule_sets",
        "add_aesop_rules",
        "erase_aesop_rules",
        "initialize_simps_projections",
        "mk_iff_of_inductive_prop",
        "assert_not_imported",
        "builtin_initialize",
    }
)
#: Commands allowed only in their scoped ``... in`` form.
SCOPED_WORDS = frozenset({"open", "set_option"})
#: Options that only bound resources or change printing; everything else is refused.
RESOURCE_OPTIONS = frozenset(
    {
        "maxHeartbeats",
        "maxRecDepth",
        "synthInstance.maxHeartbeats",
        "synthInstance.maxSize",
        "exponentiation.threshold",
        "maxSteps",
    }
)
OPTION_PREFIXES = ("pp.", "linter.")


class GuardOptions(Settings):
    """The ``guard:`` block of ``configs/backend/*.yaml`` (the YAML files mirror these defaults)."""

    model_config = ConfigDict(frozen=True)

    allow_native_decide: bool = False
    allow_search_tactics: bool = False
    #: Extra identifiers to refuse (e.g. a benchmark's own lemma names).
    extra_banned: tuple[str, ...] = ()
    #: Extra options to allow in ``set_option ... in``.
    extra_options: tuple[str, ...] = ()
    #: Axioms a verified proof may depend on (``#print axioms``).
    allowed_axioms: tuple[str, ...] = ("propext", "Classical.choice", "Quot.sound")
    #: Whole-proof mode: a ``set_option <resource> .. in`` before the declaration is accepted.
    allow_option_prefix: bool = True

    @classmethod
    def from_config(cls, cfg: GuardOptions | Mapping[str, Any] | None, group: str = "guard") -> GuardOptions:
        """From a mapping (``None``: defaults); an unknown key is a ``ConfigError`` naming it and the known ones
        (a typo must not silently weaken the guard). Backend settings check their ``guard:`` block with this
        first, so the message lists the guard's options, not the backend's keys."""
        if isinstance(cfg, Mapping):
            unknown = sorted(str(k) for k in cfg if k not in cls.model_fields)
            if unknown:
                raise ConfigError(
                    f"unknown guard option {', '.join(f'{group}.{k}' for k in unknown)} "
                    f"(known guard options: {', '.join(cls.known_keys())})"
                )
        return load_settings(cls, cfg, group)


# --- token checks -------------------------------------------------------------------------------------
def _at(text: str, tok: Token) -> str:
    return f"'{tok.text[:40]}' ({position(text, tok.start)})"


def _word_reasons(text: str, tok: Token, options: GuardOptions) -> list[str]:
    """Reasons a token is refused on its own (kind and word checks)."""
    where = _at(text, tok)
    if tok.kind == "hash":
        return [f"command {where} is not allowed in a proof (its output could forge the verifier's report)"]
    if tok.kind == "name" or (tok.kind == "symbol" and "`" in tok.text):
        return [f"{where}: name literals and syntax quotations are metaprogramming"]
    if tok.kind == "string" and tok.text.endswith("{"):
        return [f"interpolated string {where}: a parse error in its braces makes Lean re-read it as commands"]
    if tok.kind != "ident":
        return []
    word = tok.text
    parts = name_parts(word)
    candidates = {word, *parts}
    reasons = []
    if candidates & HOLE_WORDS:
        reasons.append(f"{where} leaves a hole in the proof")
    if candidates & NATIVE_WORDS and not options.allow_native_decide:
        reasons.append(f"{where} trusts the compiler (native code is off; guard.allow_native_decide)")
    if word in TRUST_WORDS:
        reasons.append(f"{where} adds trusted code or axioms")
    if word in META_WORDS:
        reasons.append(f"{where} runs code or changes syntax")
    if word in MESSAGE_WORDS:
        reasons.append(f"{where} prints messages on purpose (they could imitate the verifier's report)")
    if word in EXTERNAL_WORDS:
        reasons.append(f"{word!r} ({position(text, tok.start)}) calls a service outside Lean")
    if word in SEARCH_WORDS and not options.allow_search_tactics:
        reasons.append(f"{where} is a search tactic that leaves suggestions (guard.allow_search_tactics)")
    if word in options.extra_banned or parts[-1] in options.extra_banned:
        reasons.append(f"{where} is banned by configuration")
    return reasons


def _scoped_reasons(text: str, toks: list[Token], k: int, options: GuardOptions) -> tuple[list[str], int]:
    """Check ``open NS.. in`` / ``set_option NAME VALUE in`` at ``toks[k]``; returns (reasons, next k).

    Something of the proof must follow ``in``: a trailing ``... in`` would wrap the verifier's next command.
    """
    word = toks[k].text
    where = position(text, toks[k].start)
    if word == "set_option":
        if k + 2 >= len(toks) or toks[k + 1].kind != "ident":
            return [f"malformed set_option ({where})"], k + 1
        name = toks[k + 1].text
        allowed = (
            name in RESOURCE_OPTIONS or name in options.extra_options or name.startswith(OPTION_PREFIXES)
        )
        reasons = (
            []
            if allowed
            else [
                f"option '{name}' ({where}) may weaken checking, change meaning or print messages "
                "(only resource and display options may be set)"
            ]
        )
        j = k + 3
        if j >= len(toks) or toks[j].text != "in":
            return [*reasons, f"set_option ({where}) must be scoped with 'in'"], j
    else:
        # open [scoped] A B.C in -- plain namespaces only: renaming/hiding/explicit lists create aliases
        j = k + 1
        if j < len(toks) and toks[j].text == "scoped":
            j += 1
        names = 0
        while j < len(toks) and toks[j].kind == "ident" and toks[j].text not in ("in", "renaming", "hiding"):
            j += 1
            names += 1
        if j >= len(toks) or toks[j].text != "in" or not names:
            bad = toks[j] if j < len(toks) else toks[k]
            return [
                f"'open' ({where}) may only open namespaces, scoped with 'in' "
                f"(no renaming/hiding/explicit names; found {_at(text, bad)})"
            ], j + 1
        reasons = []
    if j + 1 >= len(toks):
        reasons.append(f"'{word} ... in' ({where}) must be followed by the proof it scopes")
    return reasons, j + 1


def _scan(text: str, toks: list[Token], options: GuardOptions) -> list[str]:
    """All reasons to refuse a token stream that should stay inside one proof term/tactic block."""
    reasons: list[str] = []
    depth = 0
    k = 0
    while k < len(toks):
        tok = toks[k]
        depth += bracket_delta(tok)
        if depth < 0:
            reasons.append(f"unbalanced {_at(text, tok)}: it would close a bracket the proof did not open")
            depth = 0
        if tok.kind == "ident" and tok.text in SCOPED_WORDS:
            more, k = _scoped_reasons(text, toks, k, options)
            reasons.extend(more)
            continue
        if tok.text == "@[":
            reasons.append(f"attributes are not allowed in a proof: {_at(text, tok)}")
        if tok.kind == "ident" and tok.text in COMMAND_WORDS:
            reasons.append(f"{_at(text, tok)} starts a new command: a proof must stay inside its declaration")
        reasons.extend(_word_reasons(text, tok, options))
        # the `trace "msg"` tactic / `trace[cls]`; a plain `trace` is also `Matrix.trace` after `open Matrix`
        following = toks[k + 1] if k + 1 < len(toks) else None
        if (
            tok.kind == "ident"
            and tok.text == "trace"
            and following is not None
            and (following.kind == "string" or (following.text == "[" and following.start == tok.end))
        ):
            reasons.append(f"{_at(text, tok)} prints messages on purpose (they could imitate the report)")
        k += 1
    if depth > 0:
        reasons.append("unbalanced brackets: an opening bracket is never closed")
    if toks and toks[-1].text == "in":
        reasons.append(
            f"the proof ends with {_at(text, toks[-1])}: it would scope the verifier's next command"
        )
    return _dedupe(reasons)


def _dedupe(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(reasons))


def _tokens_or_reason(text: str) -> tuple[list[Token], list[str]]:
    try:
        return code_tokens(text), []
    except LexError as exc:
        return [], [f"cannot be read safely: {exc}"]


# --- public API ---------------------------------------------------------------------------------------
def check_tactic(tactic: str, options: GuardOptions | Mapping[str, Any] | None = None) -> list[str]:
    """Reasons to refuse one tactic (possibly multi-line) before it reaches Lean; empty means allowed."""
    opts = GuardOptions.from_config(options)
    if not tactic.strip():
        return ["empty tactic"]
    toks, reasons = _tokens_or_reason(tactic)
    if reasons:
        return reasons
    if not toks:
        return ["the tactic is only a comment"]
    return _scan(tactic, toks, opts)


def check_proof(
    theorem: Any, proof: str, options: GuardOptions | Mapping[str, Any] | None = None
) -> list[str]:
    """Reasons to refuse a whole proof of ``theorem`` (a ``prover.lean.types.Theorem``).

    ``proof`` is either a tactic script (optionally starting with ``by``) or a full declaration, possibly
    preceded by ``set_option <resource option> <value> in``; a declaration's head must equal
    ``theorem.statement`` up to whitespace and comments (``lemma`` counts as ``theorem``), and nothing after
    the proof may start a new command.
    """
    opts = GuardOptions.from_config(options)
    if not proof.strip():
        return ["empty proof"]
    toks, reasons = _tokens_or_reason(proof)
    if reasons:
        return reasons
    if not toks:
        return ["the proof is only a comment"]
    stmt_toks, stmt_reasons = _tokens_or_reason(theorem.statement)
    if stmt_reasons:
        return [f"the theorem statement {stmt_reasons[0]}"]
    start = 0
    while start < len(toks) and toks[start].text == "set_option":
        start = _scoped_reasons(proof, toks, start, opts)[1]
    head_word = toks[start].text if start < len(toks) else ""
    if (
        head_word in DECL_WORDS
        or head_word in ("@[", "private", "protected", "noncomputable")
        or (stmt_toks and head_word == stmt_toks[0].text)
    ):
        if start and not opts.allow_option_prefix:
            return ["'set_option ... in' before the declaration is not allowed (guard.allow_option_prefix)"]
        prefix = _scan(proof, toks[:start], opts) if start else []
        prefix = [r for r in prefix if "verifier's next command" not in r and "must be followed" not in r]
        return prefix or _check_declaration(proof, toks[start:], stmt_toks, opts)
    # a tactic script (possibly starting with 'set_option ... in <tactic>')
    body = toks[1:] if toks[0].text == "by" else toks
    if not body:
        return ["empty proof"]
    return _scan(proof, body, opts)


def _check_declaration(text: str, toks: list[Token], stmt_toks: list[Token], opts: GuardOptions) -> list[str]:
    assign = proof_assign_index(toks)  # a `let x := v` in the statement is not the proof's `:=`
    if assign is None:
        return ["the declaration has no ':=' proof"]
    head = [_canonical(t.text) for t in toks[:assign]]
    expected = [_canonical(t.text) for t in stmt_toks]
    if head != expected:
        return [f"the statement differs from the theorem's: {_first_difference(head, expected)}"]
    body = toks[assign + 1 :]
    if not body:
        return ["empty proof after ':='"]
    return _scan(text, body, opts)


def _canonical(word: str) -> str:
    return "theorem" if word == "lemma" else word


def _first_difference(got: list[str], want: list[str]) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"token {i + 1} is {a!r}, expected {b!r}"
    if len(got) > len(want):
        return f"extra text {' '.join(got[len(want) :])[:60]!r}"
    return f"missing {' '.join(want[len(got) :])[:60]!r}"


def make_tactic_guard(options: GuardOptions | Mapping[str, Any] | None = None) -> Callable[[str], list[str]]:
    """A ``str -> list[str]`` guard for ``LeanSession.tactic_guard`` built from a ``guard:`` config block."""
    opts = GuardOptions.from_config(options)
    return lambda tactic: check_tactic(tactic, opts)


def default_tactic_guard() -> Callable[[str], list[str]]:
    """The guard with default options (native_decide and search tactics refused)."""
    return make_tactic_guard(GuardOptions())
