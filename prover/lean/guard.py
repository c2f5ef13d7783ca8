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

* configs (issue 19): ``(config := v)`` / ``(opt := v)`` values only as literals (numbers, ``true``/``false``,
  ``.ctor``, ``{ field := literal }``) or ``+opt``/``-opt``; positional ``⟨…⟩`` configs refused (Lean evaluates
  configs as unsafe code, ``src/Lean/Elab/Tactic/Config.lean``). ``config``/``simp_config`` (Aesop) are configs
  wherever they stand, and any ``(x := v)`` after a tactic's other clauses is one; ``(norm := tac)`` is exempt
  only right after ``linear_combination`` (``exp`` is a config item everywhere: ``Lean.Grind.Config.exp``);
  ``grind … on_failure t`` (compiled and run) is refused;
* ``open … in`` names and ``set_option`` values pass every token rule: a keyword there (any single lower-case
  word) would end the command and start another; a value is a number, a string or ``true``/``false``;
* no identifier starting with ``unsafe``; ``ident%`` read as one token, as Lean's token table does, and only the
  elaboration helpers in :data:`HARMLESS_PERCENT` allowed;
* no command keyword anywhere, also inside brackets: after a parse error Lean's parser resumes at the next token
  where a command parses (``parseCommand``, ``src/Lean/Parser/Module.lean``), so the keywords of Lean, Batteries,
  Aesop and Mathlib are listed, and a later line of a tactic block must start with a known tactic.

This is a fail-closed pre-filter, not the judge: elaborating model text runs code, so a proof counts only when
``prover.lean.judge`` accepts it (README "Trust model"). Reasons name the offending token and its line and
column. For whole proofs the statement must be the given one (token-equal up to whitespace and comments).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
from prover.lean.statement import MODIFIERS, proof_assign_index, skip_head, split_statement
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
        # `grind … on_failure t`: Lean compiles `t` (a `GoalM Unit`) with `addAndCompile` and runs it with
        # `evalConst` when grind fails (`elabFallback`, `src/Lean/Elab/Tactic/Grind.lean`)
        "on_failure",
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

#: More command keywords of Lean core and Mathlib (each is a token: Lean's token table makes it a keyword, so an
#: honest proof never uses one as a name). ``variables`` (Mathlib's deprecated syntax) leaves binders in the
#: REPL's next command's scope; ``simproc_decl``/``set_premise_selector``/``test_extern`` store or run code.
MORE_COMMAND_WORDS = frozenset(
    {
        "variables",
        "simproc_decl",
        "dsimproc_decl",
        "builtin_simproc_decl",
        "builtin_dsimproc_decl",
        "builtin_simproc",
        "builtin_dsimproc",
        "simproc_pattern",
        "set_premise_selector",
        "test_extern",
        "count_heartbeats",
        "whatsnew",
        "sudo",
        "extend_docs",
        "deriving_instance",
        "derive_functional_induction",
        "gen_injective_theorems",
        "init_quot",
        "register_tactic_tag",
        "tactic_extension",
        "add_tactic_doc",
        "recommended_spelling",
        "grind_propagator",
        "builtin_grind_propagator",
        "declare_command_config_elab",
        "declare_uint_theorems",
        "declare_aesop_rule_sets",
        "register_parser_alias",
        "register_error_explanation",
        "register_linter_set",
        "register_hint",
        "elab_stx_quot",
        "termination_by",
        "decreasing_by",
        "where",
        "syntax_cat",
        "mixfix",
        "local_notation",
        "scoped_notation",
        "open_locale",
        "run_meta",
        "compile_def",
        "irreducible_def",
        "lemma",
        "theorem",
        # the rest of the command keywords Mathlib's `#help command` lists (Lean core, Batteries, Aesop,
        # ProofWidgets, Mathlib; e.g. the generated listing in Seasawher/mathlib4-help src/commands.md) and the
        # newer ones of Lean 4.2x / Batteries (`set_library_suggestions`, `init_grind_norm`, `theorem_wanted` …)
        "assert_exists",
        "assert_no_sorry",
        "assert_not_exists",
        "assert_not_imported",
        "lrat_proof",
        "norm_cast_add_elim",
        "unset_option",
        "deprecate",
        "with_weak_namespace",
        "show_panel_widgets",
        "count_heartbeats!",
        "variable?",
        "theorem_wanted",
        "def_wanted",
        "instance_wanted",
        "set_library_suggestions",
        "init_grind_norm",
        "insert_to_additive_translation",
        "pp_extended_field_notation",
        "recall",
        "mk_iff_of_inductive_prop",
        "initialize_simps_projections?",
        # and those of later versions (the listing's history up to Lean 4.34 / Mathlib 2026-08)
        "cbv_simproc",
        "cbv_simproc_decl",
        "def_eval_config_item",
        "deprecated_module",
        "deprecated_syntax",
        "docs_to_verso",
        "grind_annotated",
        "guard_min_heartbeats",
        "library_note2",
        "name_poly_vars",
        "name_power_vars",
        "recall?",
        "reprove",
        "to_additive_name_hint",
        "to_dual_insert_cast",
        "to_dual_insert_cast_fun",
        "to_dual_name_hint",
        "unlock_limits",
    }
)
#: Name shapes of code-running or registering commands (``register_simp_attr``, ``declare_syntax_cat``,
#: ``builtin_initialize``, ``run_cmd``): a bare identifier with one of these prefixes is refused even when this
#: list does not know the exact keyword.
COMMAND_PREFIXES = ("register_", "declare_", "builtin_", "run_", "initialize", "simproc", "dsimproc")
#: ``ident%`` keywords that only steer elaboration (Lean's ``binop%`` family, ``Init/Prelude``/``Init/Notation``;
#: ``type_of%``): allowed. Every other ``ident%`` token (``eval%``, ``decl_name%``, ``exact?%``, ...) is refused.
HARMLESS_PERCENT = frozenset(
    {
        "binop%",
        "binop_lazy%",
        "leftact%",
        "rightact%",
        "binrel%",
        "binrel_no_prop%",
        "unop%",
        "type_of%",
        "ensure_type_of%",
    }
)
#: Config items the parser takes as tactic arguments, not configs (``valConfigItem`` in Lean's
#: ``src/Init/Tactics.lean``: ``notFollowedBy(&"discharger" <|> &"disch")``): their value is a tactic, and the
#: guard scans it as one.
NOT_CONFIG_ITEMS = frozenset({"discharger", "disch"})
#: Mathlib's ``linear_combination (norm := tac) (exp := n) e`` takes ``norm`` as a tactic (``normStx``) and ``exp``
#: as a numeral (``expStx``), as its own syntax, only right after these tactic names
#: (``Mathlib/Tactic/LinearCombination.lean``: ``linear_combination``, ``linear_combination2``;
#: ``Mathlib/Tactic/LinearCombination'.lean``: ``linear_combination'``). Anywhere else ``(norm := v)`` and
#: ``(exp := v)`` are config items: ``Lean.Grind.Config`` has a field ``exp : Nat`` (``src/Init/Grind/Config.lean``),
#: so ``grind``/``lia``/``cutsat (exp := v)`` evaluate ``v``. ``exp`` is checked as a config item everywhere
#: (a literal; after ``linear_combination`` Lean's own syntax wants a numeral there).
LINEAR_COMBINATION_WORDS = frozenset({"linear_combination", "linear_combination'", "linear_combination2"})
#: Config items that are configs wherever they stand: Lean's ``(config := v)`` and Aesop's
#: ``(simp_config := v)`` (an Aesop tactic clause, elaborated with ``elabConfigUnsafe``/``evalExpr'``:
#: ``Aesop/Frontend/Tactic.lean``), also after other clauses such as ``(add safe h)``.
ALWAYS_CONFIG_ITEMS = frozenset({"config", "simp_config"})
#: Tactics (Lean core, Batteries, Mathlib) that may start a line of a tactic block. A line starting with any other
#: bare lower-case word is refused: it could be a command keyword this guard does not know (Lean ends a tactic
#: block at a word the tactic parser does not take, and parses it as the next command).
TACTIC_WORDS = frozenset(
    [
        "abel",
        "abel1",
        "abel_nf",
        "ac_nf",
        "ac_rfl",
        "aesop",
        "aesop_cat",
        "all_goals",
        "and_intros",
        "any_goals",
        "apply",
        "apply_assumption",
        "apply_fun",
        "apply_mod_cast",
        "apply_rules",
        "assumption",
        "assumption'",
        "assumption_mod_cast",
        "bddDefault",
        "beta_reduce",
        "bound",
        "by_cases",
        "by_contra",
        "by_contra!",
        "by_contra'",
        "calc",
        "cancel_denoms",
        "case",
        "case'",
        "cases",
        "cases'",
        "casesm",
        "change",
        "choose",
        "classical",
        "clear",
        "clear_value",
        "compute_degree",
        "congr",
        "congr!",
        "congrm",
        "constructor",
        "constructorm",
        "continuity",
        "contradiction",
        "contrapose",
        "contrapose!",
        "conv",
        "conv_lhs",
        "conv_rhs",
        "convert",
        "convert_to",
        "dsimp",
        "dsimp_only",
        "decide",
        "delta",
        "done",
        "eq_refl",
        "erw",
        "exact",
        "exact_mod_cast",
        "exacts",
        "exfalso",
        "exists",
        "existsi",
        "ext",
        "ext1",
        "field_simp",
        "filter_upwards",
        "fin_cases",
        "first",
        "focus",
        "fun_prop",
        "funext",
        "gcongr",
        "generalize",
        "generalize_proofs",
        "group",
        "guard_hyp",
        "guard_target",
        "have",
        "haveI",
        "induction",
        "induction'",
        "infer_instance",
        "injection",
        "injections",
        "interval_cases",
        "intro",
        "intros",
        "introv",
        "iterate",
        "left",
        "let",
        "letI",
        "lift",
        "linarith",
        "linarith!",
        "linear_combination",
        "linear_combination'",
        "match",
        "measurability",
        "mod_cases",
        "module",
        "monicity",
        "next",
        "nlinarith",
        "nlinarith!",
        "nofun",
        "nomatch",
        "nontriviality",
        "norm_cast",
        "norm_num",
        "norm_num1",
        "nth_rewrite",
        "nth_rw",
        "obtain",
        "omega",
        "on_goal",
        "pick_goal",
        "positivity",
        "push_cast",
        "push_neg",
        "qify",
        "rcases",
        "rcases'",
        "refine",
        "refine'",
        "rel",
        "rename",
        "rename_i",
        "repeat",
        "repeat'",
        "replace",
        "revert",
        "rewrite",
        "right",
        "ring",
        "ring1",
        "ring_nf",
        "ring_nf!",
        "rintro",
        "rotate_left",
        "rotate_right",
        "rw",
        "rwa",
        "set",
        "show",
        "simp",
        "simp_all",
        "simp_arith",
        "simp_intro",
        "simp_rw",
        "simpa",
        "skip",
        "solve_by_elim",
        "specialize",
        "split",
        "split_ands",
        "split_ifs",
        "subst",
        "subst_vars",
        "suffices",
        "swap",
        "symm",
        "tauto",
        "trans",
        "trivial",
        "try",
        "unfold",
        "unfold_let",
        "use",
        "use!",
        "wlog",
        "zify",
        "bv_omega",
        "rfl",
        "exact_mod_cast",
        "norm_num!",
        "simp!",
        "simp_all!",
        "dsimp!",
        "simpa!",
        "decide!",
        "let'",
        "sorry",
        "nlinarith'",
        "refine_lift",
        "fconstructor",
        "econstructor",
        "and_intro",
        "absurd",
        "by_cases!",
        "exists_intro",
        "peel",
        "positivity!",
        "field_simp!",
        "ring_nf?",
        "cc",
        "itauto",
        "triv",
        "bv_normalize",
        "bv_decide",
        "norm_fin",
        "slim_check",
        "infer_param",
        "unfold_projs",
        "zeta_reduce",
        "whnf",
        "set!",
        "intro!",
        "rsuffices",
        "rcongr",
        "hint",
        "observe",
        "change!",
        "trace",
        # newer Lean core / Mathlib tactics
        "grind",
        "cutsat",
        "lia",
        "fin_omega",
        "finiteness",
        "rify",
        "rw_mod_cast",
        "simp_all_arith",
        "simp_wf",
        "subst_eqs",
        "clear_except",
        "choose!",
        "decreasing_tactic",
        "decreasing_trivial",
        "extract_lets",
        "lift_lets",
        "inhabit",
        "mono",
        "monotonicity",
        "noncomm_ring",
        "ring1_nf",
        "rename_bvar",
        "tfae_have",
        "tfae_finish",
    ]
)
#: Words that may also start a line of a tactic block: scoped forms (checked apart), ``calc`` steps, terms.
_LINE_WORDS = (
    TACTIC_WORDS
    | NATIVE_WORDS
    | SEARCH_WORDS
    | HOLE_WORDS
    | EXTERNAL_WORDS
    | MESSAGE_WORDS
    | {
        "set_option",
        "open",
        "_",
        "fun",
        "if",
        "then",
        "else",
        "with",
        "at",
        "using",
        "from",
        "do",
        "by",
        "in",
        "show",
        "match",
        "let",
        "have",
    }
)


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


class _LazyAt:
    """``_at(text, tok)`` computed only when a reason is written: counting lines for every token of a long
    statement made the guard quadratic (a 250 KB statement took seconds; prover serve, issue 23)."""

    __slots__ = ("text", "tok")

    def __init__(self, text: str, tok: Token) -> None:
        self.text, self.tok = text, tok

    def __format__(self, spec: str) -> str:
        return format(_at(self.text, self.tok), spec)


def _word_reasons(text: str, tok: Token, options: GuardOptions) -> list[str]:
    """Reasons a token is refused on its own (kind and word checks)."""
    where = _LazyAt(text, tok)
    if tok.kind == "hash":
        return [f"command {where} is not allowed in a proof (its output could forge the verifier's report)"]
    if tok.kind == "name" or (tok.kind == "symbol" and "`" in tok.text):
        return [f"{where}: name literals and syntax quotations are metaprogramming"]
    if tok.kind == "string" and tok.text.endswith("{"):
        return [f"interpolated string {where}: a parse error in its braces makes Lean re-read it as commands"]
    if tok.kind == "percent":
        if tok.text in HARMLESS_PERCENT:
            return []
        return [
            f"{where} is an elaborator keyword ('ident%' tokens such as eval% run code or read the context)"
        ]
    if tok.kind != "ident":
        return []
    word = tok.text
    parts = name_parts(word)
    candidates = {word, *parts}
    reasons = []
    if any(part.startswith("unsafe") for part in parts):
        reasons.append(f"{where} names unsafe code (no identifier may start with 'unsafe')")
    if word in MORE_COMMAND_WORDS or (len(parts) == 1 and word.startswith(COMMAND_PREFIXES)):
        reasons.append(
            f"{where} is (or is shaped like) a command keyword: a proof must stay inside its declaration"
        )
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
        reasons.extend(_word_reasons(text, toks[k + 1], options))
        value = toks[k + 2]
        if not (
            value.kind == "number"
            or (value.kind == "string" and not value.text.endswith("{"))
            or (value.kind == "ident" and value.text in _LITERAL_WORDS)
        ):
            # a keyword there ends the command, and Lean's parser resumes at it as a new command
            reasons.append(
                f"the value of set_option ({where}) must be a number, a string or true/false, "
                f"found {_at(text, value)}"
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
        reasons = []
        while j < len(toks) and toks[j].kind == "ident" and toks[j].text not in ("in", "renaming", "hiding"):
            reasons.extend(_opened_name_reasons(text, toks[j], options))
            j += 1
            names += 1
        if j >= len(toks) or toks[j].text != "in" or not names:
            bad = toks[j] if j < len(toks) else toks[k]
            return [
                f"'open' ({where}) may only open namespaces, scoped with 'in' "
                f"(no renaming/hiding/explicit names; found {_at(text, bad)})",
                *reasons,
            ], j + 1
    if j + 1 >= len(toks):
        reasons.append(f"'{word} ... in' ({where}) must be followed by the proof it scopes")
    return reasons, j + 1


def _opened_name_reasons(text: str, tok: Token, options: GuardOptions) -> list[str]:
    """Reasons to refuse a name in ``open … in``: every token rule applies, and a keyword (a command word, a
    tactic, any single lower-case word, which is how Lean's keywords are spelled) is refused: the ``open`` ends
    before it, and after the parse error Lean resumes at that keyword as a new command. Namespaces are
    capitalised or dotted (``Nat``, ``Real``, ``intervalIntegral``, ``Finset.Nat``)."""
    reasons = _word_reasons(text, tok, options)
    word = tok.text
    if (
        word in COMMAND_WORDS
        or word in SCOPED_WORDS
        or word in _LINE_WORDS
        or word in MORE_COMMAND_WORDS
        or word.startswith(COMMAND_PREFIXES)
        or _BARE_WORD.fullmatch(word)
    ):
        reasons.append(
            f"{_at(text, tok)} is a keyword, not a namespace: Lean would end the 'open' (or 'namespace', "
            "'section', 'end') before it and read it as a new command"
        )
    return reasons


def namespace_name_refusals(
    name: Token, options: GuardOptions | Mapping[str, Any] | None = None
) -> list[str]:
    """Reasons to refuse ``name`` (a token already read) as a namespace (``open``, ``namespace``, ``section``,
    ``end`` in a header): one identifier that passes :func:`_opened_name_reasons`."""
    if name.kind != "ident":
        return [f"{name.text[:40]!r} is not one name"]
    token = Token(name.kind, name.text, 0, len(name.text))  # positions relative to the name itself
    opts = options if isinstance(options, GuardOptions) else GuardOptions.from_config(options)
    return _opened_name_reasons(name.text, token, opts)


#: Tokens after which a tactic starts (so a ``(ident := …)`` right after that tactic's name is its config).
_TACTIC_STARTERS = frozenset(
    {
        "by",
        ";",
        "<;>",
        "·",
        ".",
        "=>",
        "|",
        "try",
        "all_goals",
        "any_goals",
        "repeat",
        "repeat'",
        "iterate",
        "focus",
        "first",
        "on_goal",
        "then",
        "else",
        "classical",
    }
)
_LITERAL_WORDS = frozenset({"true", "false"})


def _literal_end(toks: list[Token], j: int) -> int | None:
    """Index after the config literal at ``toks[j]``, or None when it is not one. Literals: numbers, ``true`` /
    ``false``, ``.ctor`` names and structure instances ``{ field := literal, … }`` of literals. Lean elaborates the
    items into one structure instance (``elabConfig``) and runs it with ``Meta.evalExpr' (safety := .unsafe)``
    (``mkConfigElaborator``, ``src/Lean/Elab/Tactic/Config.lean``), so anything else could run code when the
    tactic starts; ``(opt := by tacs)`` stores tactic syntax that the tactic later runs, and is refused too."""
    if j >= len(toks):
        return None
    tok = toks[j]
    if tok.kind == "number" or (tok.kind == "ident" and tok.text in _LITERAL_WORDS):
        return j + 1
    if tok.text == "." and j + 1 < len(toks) and toks[j + 1].kind == "ident" and toks[j + 1].start == tok.end:
        return j + 2
    if tok.text != "{":
        return None
    j += 1
    while j < len(toks) and toks[j].text != "}":
        if toks[j].kind != "ident" or j + 1 >= len(toks) or toks[j + 1].text != ":=":
            return None
        end = _literal_end(toks, j + 2)
        if end is None:
            return None
        j = end
        if j < len(toks) and toks[j].text == ",":
            j += 1
    return j + 1 if j < len(toks) else None


def _is_config_item(
    toks: list[Token], k: int, config_ends: set[int], line_starts: set[int], chains: _Chains
) -> bool:
    """Whether ``toks[k]`` (a ``(`` followed by ``ident :=``) is a tactic's config item (``valConfigItem``,
    ``src/Init/Tactics.lean``; Aesop's clauses), not a named argument of a function: it follows the tactic's
    name or other items of that tactic (``(…)`` clauses, ``+opt``/``-opt``). When unsure it counts as a config
    (its value must then be a literal)."""
    name = toks[k + 1].text
    if name in ALWAYS_CONFIG_ITEMS:
        return True
    if k == 0:
        return False
    prev = toks[k - 1]
    if name == "norm" and prev.text in LINEAR_COMBINATION_WORDS:
        return False  # Mathlib's `linear_combination (norm := tac)`: a tactic, scanned as one
    if name in NOT_CONFIG_ITEMS:
        return False
    if k - 1 in config_ends:
        return True
    head = chains.head(k - 1)
    if head != k - 1:
        # after other items of the same tactic (`aesop (add safe h) (x := v)`, `decide +kernel (x := v)`): a config
        # item when the chain starts at a tactic (fail closed: also an unknown word standing where a tactic starts)
        word = toks[head]
        return word.kind == "ident" and (
            word.text in TACTIC_WORDS or chains.at_tactic_start(head, line_starts)
        )
    if prev.kind != "ident":
        return False
    if prev.text in TACTIC_WORDS or k - 1 in line_starts:
        return True
    # the word before is a tactic when it stands where a tactic starts, also inside tactic parentheses
    # (`(grind (x := v))`, `all_goals (t (x := v))`): fail closed for tactics this guard does not know
    return _at_tactic_start(toks, k - 1, line_starts)


class _Chains:
    """:meth:`head`: the word a chain of tactic items ending at ``toks[j]`` follows, walking back over bracketed
    groups (``(add safe h)``, ``(x := v)``, ``[lemmas]``) and ``+opt``/``-opt`` items (``j`` when there is none).
    Linear over a whole scan: matching brackets are found once, and each walk stops at a place an earlier walk
    already resolved (a proof of thousands of ``f (a := 1) (a := 1) …`` must not take quadratic time)."""

    def __init__(self, toks: list[Token]) -> None:
        self.toks = toks
        self.openers: dict[int, int] = {}
        stack: list[int] = []
        for i, tok in enumerate(toks):
            delta = bracket_delta(tok)
            if delta > 0:
                stack.append(i)
            elif delta < 0 and stack:
                self.openers[i] = stack.pop()
        self.cache: dict[int, int] = {}
        self.starts: dict[int, bool] = {}

    def head(self, j: int) -> int:
        toks = self.toks
        visited: list[int] = []
        result = j
        while j >= 0:
            if j in self.cache:
                result = self.cache[j]
                break
            visited.append(j)
            tok = toks[j]
            if tok.kind == "symbol" and bracket_delta(tok) < 0:
                opener = self.openers.get(j)
                if opener is None:
                    result = j
                    break
                j = opener - 1
                continue
            if (
                tok.kind == "ident"
                and j >= 1
                and toks[j - 1].text in ("+", "-")
                and toks[j - 1].end == tok.start
            ):
                j -= 2
                continue
            result = j
            break
        else:
            result = 0
        for v in visited:
            self.cache[v] = result
        return result

    def at_tactic_start(self, j: int, line_starts: set[int]) -> bool:
        """:func:`_at_tactic_start`, remembered per index (many items of one chain ask about the same word)."""
        known = self.starts.get(j)
        if known is None:
            known = self.starts[j] = _at_tactic_start(self.toks, j, line_starts)
        return known


def _at_tactic_start(toks: list[Token], j: int, line_starts: set[int]) -> bool:
    """Whether ``toks[j]`` stands where a tactic starts: first, after a tactic separator/combinator, at a line
    start, or right after a ``(`` that itself stands there (Lean's ``paren`` tactic)."""
    while True:
        if j <= 0 or j in line_starts or toks[j - 1].text in _TACTIC_STARTERS:
            return True
        if toks[j - 1].text != "(":
            return False
        j -= 1


def _config_reasons(text: str, toks: list[Token], k: int) -> tuple[list[str], int | None]:
    """The config item at ``toks[k]`` (``(name := value)``): reasons to refuse it, and the index of its ``)``."""
    if toks[k + 1].text == "rule_sets":
        # Aesop's `(rule_sets := [A, -B])`: rule set names (`ruleSetSpec`, `"-"? ident`), never elaborated
        end = _rule_sets_end(toks, k + 3)
        if end is not None:
            return [], end
    end = _literal_end(toks, k + 3)
    if end is not None and end < len(toks) and toks[end].text == ")":
        return [], end
    return [
        f"config item {_at(text, toks[k + 1])}: a config value may only be a literal (number, true/false, "
        "'.ctor', '{ field := literal }'); Lean evaluates it as code"
    ], None


def _rule_sets_end(toks: list[Token], j: int) -> int | None:
    """Index of the ``)`` closing ``[ -? ident, … ] )`` at ``toks[j]``, or None when it is not that shape."""
    if j >= len(toks) or toks[j].text != "[":
        return None
    j += 1
    while j < len(toks) and toks[j].text != "]":
        if toks[j].text == "-":
            j += 1
        if j >= len(toks) or toks[j].kind != "ident" or _BARE_WORD.fullmatch(toks[j].text):
            return None
        j += 1
        if j < len(toks) and toks[j].text == ",":
            j += 1
    j += 1
    return j if j < len(toks) and toks[j].text == ")" else None


_BARE_WORD = re.compile(r"[a-z_][a-z0-9_]*[!?']*")


def _scan(text: str, toks: list[Token], options: GuardOptions, block: bool = False) -> list[str]:
    """All reasons to refuse a token stream that should stay inside one proof term/tactic block.

    ``block``: the stream is a tactic block, so a later line starting at (or left of) the previous line's column
    with a bare lower-case word must start with a known tactic (``TACTIC_WORDS``): Lean ends a tactic block at a
    word its tactic parser does not take and parses it as the next command, which might be one this guard does
    not know. The first line is exempt (a one-line step is parsed as one tactic by the REPL's tactic mode, and
    scripted worlds name their own tactics); command words the guard knows are refused there as anywhere. (In a
    whole proof, sent inside a declaration, an unknown command keyword as the first word would be read as a
    command after the parse error: the keyword lists, not this line rule, cover that place.)"""
    reasons: list[str] = []
    depth = 0
    k = 0
    config_ends: set[int] = set()
    chains = _Chains(toks)
    line_starts: set[int] = set()
    last_line, line, pos = -1, 0, 0
    last_column: int | None = None
    for i, tok in enumerate(toks):
        line += text.count("\n", pos, tok.start)
        pos = tok.start
        if line != last_line:
            line_starts.add(i)
            last_line = line
    depths = []
    running = 0
    for tok in toks:
        depths.append(running)
        running = max(0, running + bracket_delta(tok))
    for i in sorted(line_starts):
        if depths[i]:
            continue
        tok = toks[i]
        column = tok.start - (text.rfind("\n", 0, tok.start) + 1)
        if (
            block
            and tok.kind == "ident"
            and _BARE_WORD.fullmatch(tok.text)
            and tok.text not in _LINE_WORDS
            and last_column is not None
            and column <= last_column
        ):
            reasons.append(
                f"{_at(text, tok)} starts a line of the tactic block but is not a known tactic: Lean would end "
                "the block there and could read it as a command"
            )
        last_column = column
    while k < len(toks):
        tok = toks[k]
        if (
            tok.text == "("
            and k + 2 < len(toks)
            and toks[k + 1].kind == "ident"
            and toks[k + 2].text == ":="
            and _is_config_item(toks, k, config_ends, line_starts, chains)
        ):
            more, close = _config_reasons(text, toks, k)
            reasons.extend(more)
            if close is not None:
                config_ends.add(close)
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
def check_tactic(
    tactic: str, options: GuardOptions | Mapping[str, Any] | None = None, *, block: bool = False
) -> list[str]:
    """Reasons to refuse one tactic (possibly multi-line) before it reaches Lean; empty means allowed.

    ``block=True`` when the text is a tactic block (a search step; not a term such as an FPS submission): its
    lines must then start with known tactics (``TACTIC_WORDS``)."""
    opts = GuardOptions.from_config(options)
    if not tactic.strip():
        return ["empty tactic"]
    toks, reasons = _tokens_or_reason(tactic)
    if reasons:
        return reasons
    if not toks:
        return ["the tactic is only a comment"]
    return _scan(tactic, toks, opts, block=block)


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
        or head_word == "@["
        or head_word in MODIFIERS
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
    return _scan(proof, body, opts, block=True)


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
    if body[0].text == "by":
        return _scan(text, body[1:], opts, block=True) if body[1:] else ["empty proof after 'by'"]
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


@dataclass(frozen=True)
class GuardResult:
    """A guard's answer: ``reasons`` to refuse (empty: accepted)."""

    reasons: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.reasons


#: ``Theorem.source`` values of statements a model wrote (synthesis): these get :func:`check_statement`'s
#: strict rules wherever they are started (``LeanSession.start``).
MODEL_WRITTEN_SOURCES = frozenset({"mustard", "alchemy"})
#: Heads a model-written statement may have.
PLAIN_HEADS = ("theorem", "lemma")


def check_statement(
    text: str, options: GuardOptions | Mapping[str, Any] | None = None, *, model_written: bool = True
) -> GuardResult:
    """Whether a statement (a declaration without its proof) may be elaborated.

    ``model_written`` (MUSTARD, Alchemy): only a plain ``theorem``/``lemma`` head -- no attributes, no modifiers
    (``@[implemented_by …]``, ``unsafe``, ``private``, ``noncomputable`` …), doc comments allowed -- and no
    ``by`` block, ``#`` command or ``ident%`` token anywhere (``start`` elaborates the type, so a ``by`` in it
    runs). Otherwise (a benchmark's own statement, a user's): the head may carry attributes and modifiers, but
    nothing in it may add trust (``unsafe``, ``implemented_by``, ``extern``), and the binders and type pass the
    same token rules as a proof. Both: the text must read as one statement with no proof ``:=``.
    """
    # a search tactic's name in a statement is a variable there (PutnamBench's putnam_1998_a6 binds `hint`), and
    # it could only print suggestions: the search-tactic policy is for proofs
    opts = GuardOptions.from_config(options).model_copy(update={"allow_search_tactics": True})
    if not text.strip():
        return GuardResult(("empty statement",))
    toks, reasons = _tokens_or_reason(text)
    if reasons:
        return GuardResult(tuple(f"the statement {r}" for r in reasons))
    if not toks:
        return GuardResult(("the statement is only a comment",))
    try:
        split_statement(text)
    except (ValueError, LexError) as exc:
        return GuardResult((f"not a single statement: {exc}",))
    head = skip_head(toks)
    out: list[str] = []
    if model_written:
        if toks[0].text not in PLAIN_HEADS:
            out.append(
                f"a model-written statement must start with 'theorem' or 'lemma' (no attributes or "
                f"modifiers), found {_at(text, toks[0])}"
            )
        for tok in toks:
            if tok.kind == "ident" and tok.text in ("by", "by?"):
                out.append(
                    f"{_at(text, tok)}: a 'by' block in a statement runs when the statement is elaborated"
                )
            elif tok.kind in ("hash", "percent"):
                out.append(f"{_at(text, tok)} is not allowed in a statement")
    else:
        for tok in toks[:head]:
            out.extend(_word_reasons(text, tok, opts))
    # search words are allowed in a statement as names (above), but a search tactic there is still refused: the
    # ones that are only ever tactics or term elaborators (`by?`, `exact?%`, `show_term`) print suggestions
    out.extend(
        f"{_at(text, tok)} is a search tactic: it prints suggestions"
        for tok in toks
        if tok.kind == "ident" and tok.text in _SEARCH_ONLY
    )
    if head >= len(toks):
        return GuardResult(tuple(_dedupe([*out, "the statement has no declaration keyword"])))
    out.extend(_scan(text, toks[head + 1 :], opts))
    out.extend(_statement_line_reasons(text, toks))
    return GuardResult(tuple(_dedupe(out)))


def statement_line_refusals(text: str) -> list[str]:
    """:func:`_statement_line_reasons` for a statement's binders and type (the server's ``binders : type``, the
    type in column 0 when it stood there). Text that cannot be read is refused."""
    toks, reasons = _tokens_or_reason(text)
    if reasons:
        return reasons
    return _statement_line_reasons(text, toks)


def _ends_term(tok: Token) -> bool:
    """Whether a term can end at ``tok`` (a name, a literal, a closing bracket): a line after ``:``, ``→``, ``=``
    ... continues the statement's term, whatever word starts it."""
    return tok.kind in ("ident", "number", "string", "char") or (
        tok.kind == "symbol" and bracket_delta(tok) < 0
    )


def _statement_line_reasons(text: str, toks: list[Token]) -> list[str]:
    """A later line of a statement starting in column 0, outside brackets, with a bare lower-case word that is
    not a term word (the rule tactic blocks follow, :func:`_scan`): it could be a command keyword this guard does
    not know, where Lean would end the statement and parse a new command. A name the statement used before (a
    binder such as FormalMATH's ``(a b m : ℝ) :`` then ``m = 450`` in column 0) may continue a term that is not
    complete yet (after ``:``, ``∧``, ``=`` …): a keyword could never have been used as a name. Column-0 lines
    inside brackets (PutnamBench's binders) and indented lines are not checked."""
    reasons: list[str] = []
    depth = 0
    seen: set[str] = set()
    for i, tok in enumerate(toks):
        at_line_start = i > 0 and text[tok.start - 1] == "\n"
        if (
            at_line_start
            and depth == 0
            and tok.kind == "ident"
            and _BARE_WORD.fullmatch(tok.text)
            and tok.text not in _LINE_WORDS
            and (_ends_term(toks[i - 1]) or tok.text not in seen)
        ):
            reasons.append(
                f"{_at(text, tok)} starts a line of the statement but is not a term word: Lean could read it "
                "as a command"
            )
        if tok.kind == "ident":
            seen.add(tok.text)
        depth = max(0, depth + bracket_delta(tok))
    return reasons


#: Search words that cannot be a variable's name in a statement (Lean reads them as tactic or term keywords).
_SEARCH_ONLY = frozenset({"by?", "show_term"})


class TacticGuard:
    """The ``str -> list[str]`` guard a session applies to every tactic, carrying its ``options`` so that the
    session's ``start`` and ``verify`` gates apply the same policy (``prover.lean.session.LeanSession``)."""

    def __init__(self, options: GuardOptions) -> None:
        self.options = options

    def __call__(self, tactic: str) -> list[str]:
        return check_tactic(tactic, self.options, block=True)


def make_tactic_guard(options: GuardOptions | Mapping[str, Any] | None = None) -> TacticGuard:
    """A ``str -> list[str]`` guard for ``LeanSession.tactic_guard`` built from a ``guard:`` config block."""
    return TacticGuard(GuardOptions.from_config(options))


def default_tactic_guard() -> TacticGuard:
    """The guard with default options (native_decide and search tactics refused)."""
    return make_tactic_guard(GuardOptions())
