"""Static soundness guard: refuse tactics and proofs that could make Lean accept something unproved.

Runs before Lean sees any text (no Lean needed) and works on tokens from ``prover.lean.lexer``, so comments,
strings and identifiers that merely contain a banned word are not refused, while layout tricks are caught.
Lean stays the judge of correctness; this guard removes the ways to *skip* judgement:

* proof holes: ``sorry``, ``admit``, ``sorryAx``, ``stop``, ``slim_check``/``plausible`` (they admit goals),
  compiler internals (``lcProof`` ...), and ``native_decide`` / ``ofReduceBool`` (trusts the compiler;
  opt-in with ``allow_native_decide``);
* new trust: ``axiom``, ``opaque``, ``unsafe``, ``implemented_by``, ``extern``, ``csimp``;
* code that runs at elaboration time or changes syntax (``#eval``, ``run_tac``, ``elab``, ``macro``,
  ``notation``, ``syntax``, ``initialize`` ...) and any new command (``theorem``, ``instance``,
  ``attribute``, ``open`` without ``in``, ``import`` ...): a proof must not leave its ``by`` block;
* options: only an allow-list of resource and display options (``maxHeartbeats``, ``maxRecDepth``,
  ``synthInstance.*`` limits, ``pp.*``, ``trace.*``, ``linter.*``) may be set, and only as ``set_option .. in``;
  everything else (``debug.skipKernelTC``, ``debug.byAsSorry``, ``autoImplicit`` ...) may weaken checking
  or change what a statement means;
* search tactics that leave ``Try this`` suggestions instead of proofs (``exact?``, ``apply?``, ``hint`` ...;
  opt-in with ``allow_search_tactics``).

For whole proofs the statement must be the given one (token-equal up to whitespace and comments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from prover.lean.lexer import (
    CLOSE_BRACKETS,
    DECL_KEYWORDS,
    OPEN_BRACKETS,
    LexError,
    Token,
    code_tokens,
    name_parts,
)

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
    }
)
#: Trusting the compiler: ``native_decide`` and the axiom behind it.
NATIVE_WORDS = frozenset(
    {"native_decide", "ofReduceBool", "reduceBool", "trustCompiler", "ofReduceNat", "reduceNat"}
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
        "import",
    }
)
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
    }
)
#: Keywords that start a new command; in a proof they would escape the ``by`` block.
COMMAND_WORDS = frozenset(
    {
        *DECL_KEYWORDS,
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
    }
)
#: Commands allowed only in their scoped ``... in`` form.
SCOPED_WORDS = frozenset({"open", "set_option"})
#: ``#`` commands with no effect on the environment (inspection inside a proof is harmless).
HARMLESS_HASH = frozenset({"#check", "#guard_target", "#guard_hyp", "#guard_expr", "#guard_msgs"})
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
OPTION_PREFIXES = ("pp.", "trace.", "linter.")


@dataclass(frozen=True)
class GuardOptions:
    """The ``guard:`` block of ``configs/backend/*.yaml``."""

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
    def from_config(cls, cfg: GuardOptions | Mapping[str, Any] | None) -> GuardOptions:
        """From a mapping; unknown keys are an error naming them (a typo must not silently weaken the guard)."""
        if cfg is None:
            return cls()
        if isinstance(cfg, GuardOptions):
            return cfg
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(
                f"unknown guard option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in cfg.items():
            if key in ("extra_banned", "extra_options", "allowed_axioms"):
                values[key] = tuple(str(v) for v in value)
            else:
                values[key] = bool(value)
        return cls(**values)


# --- token checks -------------------------------------------------------------------------------------
def _word_reasons(tok: Token, options: GuardOptions) -> list[str]:
    """Reasons an identifier (or #command) token is refused."""
    text = tok.text
    if tok.kind == "hash":
        return [] if text in HARMLESS_HASH else [f"command '{text}' is not allowed in a proof"]
    if tok.kind != "ident":
        return []
    parts = name_parts(text)
    candidates = {text, parts[-1], parts[0]}
    reasons = []
    if candidates & HOLE_WORDS or text in HOLE_WORDS:
        reasons.append(f"'{text}' leaves a hole in the proof")
    if candidates & NATIVE_WORDS and not options.allow_native_decide:
        reasons.append(f"'{text}' trusts the compiler (native_decide is off; guard.allow_native_decide)")
    if text in TRUST_WORDS:
        reasons.append(f"'{text}' adds trusted code or axioms")
    if text in META_WORDS:
        reasons.append(f"'{text}' runs code or changes syntax")
    if text in SEARCH_WORDS and not options.allow_search_tactics:
        reasons.append(f"'{text}' is a search tactic that leaves suggestions (guard.allow_search_tactics)")
    if text in options.extra_banned or parts[-1] in options.extra_banned:
        reasons.append(f"'{text}' is banned by configuration")
    return reasons


def _scoped_reasons(toks: list[Token], k: int, options: GuardOptions) -> tuple[list[str], int]:
    """Check ``open ... in`` / ``set_option NAME VALUE in`` starting at ``toks[k]``; returns (reasons, next k)."""
    word = toks[k].text
    if word == "set_option":
        if k + 2 >= len(toks) or toks[k + 1].kind != "ident":
            return ["malformed set_option"], k + 1
        name = toks[k + 1].text
        allowed = (
            name in RESOURCE_OPTIONS or name in options.extra_options or name.startswith(OPTION_PREFIXES)
        )
        reasons = (
            []
            if allowed
            else [
                f"option '{name}' may weaken checking or change meaning (only resource "
                "and display options may be set)"
            ]
        )
        j = k + 3
        if j >= len(toks) or toks[j].text != "in":
            reasons.append("set_option must be scoped with 'in'")
        return reasons, j + 1
    # open A B (hiding x) (renaming a → b) in
    j = k + 1
    while j < len(toks) and toks[j].text != "in":
        t = toks[j]
        if (
            t.kind == "ident"
            and t.text not in COMMAND_WORDS
            and t.text not in SCOPED_WORDS
            or t.text in ("(", ")", "→", "hiding", "renaming", "scoped")
        ):
            j += 1
        else:
            break
    if j >= len(toks) or toks[j].text != "in":
        return ["'open' must be scoped with 'in'"], j
    return [], j + 1


def _scan(toks: list[Token], options: GuardOptions) -> list[str]:
    """All reasons to refuse a token stream that should stay inside one proof term/tactic block."""
    reasons: list[str] = []
    depth = 0
    k = 0
    while k < len(toks):
        tok = toks[k]
        if tok.text in OPEN_BRACKETS or tok.text in ("@[", "%["):
            depth += 1
        elif tok.text in CLOSE_BRACKETS:
            depth -= 1
            if depth < 0:
                reasons.append(f"unbalanced '{tok.text}': it would close a bracket the proof did not open")
                depth = 0
        if tok.kind == "ident" and tok.text in SCOPED_WORDS:
            more, k = _scoped_reasons(toks, k, options)
            reasons.extend(more)
            continue
        if tok.text == "@[":
            reasons.append("attributes are not allowed in a proof")
        if tok.kind == "ident" and tok.text in COMMAND_WORDS:
            reasons.append(f"'{tok.text}' starts a new command: a proof must stay inside its declaration")
        if (
            tok.kind == "ident"
            and tok.text == "native"
            and k
            and toks[k - 1].text in ("+", "(", "{")
            and not options.allow_native_decide
        ):
            reasons.append("'decide +native' trusts the compiler (guard.allow_native_decide)")
        reasons.extend(_word_reasons(tok, options))
        k += 1
    if depth > 0:
        reasons.append("unbalanced brackets: an opening bracket is never closed")
    return _dedupe(reasons)


def _dedupe(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(reasons))


def _tokens_or_reason(text: str) -> tuple[list[Token], list[str]]:
    try:
        return code_tokens(text), []
    except LexError as exc:
        return [], [f"cannot be lexed: {exc}"]


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
    return _scan(toks, opts)


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
        start = _scoped_reasons(toks, start, opts)[1]
    head_word = toks[start].text if start < len(toks) else ""
    if (
        head_word in DECL_KEYWORDS
        or head_word in ("@[", "private", "protected", "noncomputable")
        or (stmt_toks and head_word == stmt_toks[0].text)
    ):
        if start and not opts.allow_option_prefix:
            return ["'set_option ... in' before the declaration is not allowed (guard.allow_option_prefix)"]
        prefix = _scan(toks[:start], opts) if start else []
        return prefix or _check_declaration(toks[start:], stmt_toks, opts)
    # a tactic script (possibly starting with 'set_option ... in <tactic>')
    body = toks[1:] if toks[0].text == "by" else toks
    if not body:
        return ["empty proof"]
    return _scan(body, opts)


def _check_declaration(toks: list[Token], stmt_toks: list[Token], opts: GuardOptions) -> list[str]:
    assign = _top_level_assign(toks)
    if assign is None:
        return ["the declaration has no ':=' proof"]
    head = [_canonical(t.text) for t in toks[:assign]]
    expected = [_canonical(t.text) for t in stmt_toks]
    if head != expected:
        return [f"the statement differs from the theorem's: {_first_difference(head, expected)}"]
    body = toks[assign + 1 :]
    if not body:
        return ["empty proof after ':='"]
    return _scan(body, opts)


def _canonical(word: str) -> str:
    return "theorem" if word == "lemma" else word


def _first_difference(got: list[str], want: list[str]) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"token {i + 1} is {a!r}, expected {b!r}"
    if len(got) > len(want):
        return f"extra text {' '.join(got[len(want) :])[:60]!r}"
    return f"missing {' '.join(want[len(got) :])[:60]!r}"


def _top_level_assign(toks: list[Token]) -> int | None:
    depth = 0
    for i, tok in enumerate(toks):
        if tok.text in OPEN_BRACKETS or tok.text in ("@[", "%["):
            depth += 1
        elif tok.text in CLOSE_BRACKETS:
            depth -= 1
        elif tok.text == ":=" and depth == 0:
            return i
    return None


def make_tactic_guard(options: GuardOptions | Mapping[str, Any] | None = None) -> Callable[[str], list[str]]:
    """A ``str -> list[str]`` guard for ``LeanSession.tactic_guard`` built from a ``guard:`` config block."""
    opts = GuardOptions.from_config(options)
    return lambda tactic: check_tactic(tactic, opts)


def default_tactic_guard() -> Callable[[str], list[str]]:
    """The guard with default options (native_decide and search tactics refused)."""
    return make_tactic_guard(GuardOptions())
