"""The Lean text of the FPS extraction and of the RPE tactic probe, audited against Lean v4.24.0's sources (no
Lean needed: these pin the generated text; ``tests/test_fps_lean.py`` runs the same text on a real REPL)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from prover.fps.statements import tactic_probe_command
from prover.lean.fps_lean import PP_OPTIONS, extraction_command
from prover.lean.lexer import code_tokens

#: pp options registered by Lean v4.24.0 (src/Lean/PrettyPrinter/Delaborator/Options.lean); an unknown option
#: in ``set_option … in`` is an elaboration error, which would fail every extraction.
KNOWN_PP_OPTIONS = {
    "pp.fullNames",
    "pp.funBinderTypes",
    "pp.piBinderTypes",
    "pp.numericTypes",
    "pp.structureInstances",
    "pp.fieldNotation.generalized",
    "pp.safeShadowing",
    "pp.proofs",
    "pp.deepTerms",
}


def test_every_pp_option_exists_at_the_pinned_lean():
    assert {k for k, _ in PP_OPTIONS} <= KNOWN_PP_OPTIONS
    assert all(v in ("true", "false") for _, v in PP_OPTIONS)


def test_no_lean_namespace_is_opened_around_the_reparse():
    """With ``open Lean Elab Command Meta Term in`` the printed answer was re-elaborated with those namespaces
    open (a full name could then resolve to a ``Lean.…`` constant or be ambiguous); only the problem's own
    ``open`` lines may be in scope, and every name of the metaprogram is fully qualified instead."""
    command = extraction_command("fps_x", 1, "open Real Nat")
    opens = [line for line in command.split("\n") if line.startswith("open ")]
    assert opens == ["open Real Nat in"]
    assert "liftTermElabM" in command and "Lean.Elab.Command.liftTermElabM" in command
    code_tokens(command)  # lexes


def test_binders_are_opened_on_the_statement_type_and_aux_lemmas_are_looked_through():
    """The quantifiers come from the theorem's TYPE (its binder names, as RPE's ``example`` uses them, whatever
    a whole proof named its intros; an eta-reduced or aux-lemma value has no lambdas to open), and the search for
    ``Exists.intro`` unfolds ``id`` (``show``), ``let``/``letFun`` and internal auxiliary theorems."""
    command = extraction_command("fps_x", 3)
    assert "Lean.Meta.forallBoundedTelescope info.type (some 3)" in command
    assert "lambdaBoundedTelescope" not in command
    assert "Lean.mkAppN value xs" in command
    assert "isConstOf `id" in command and "isConstOf `letFun" in command and ".letE" in command
    assert "c.isInternal" in command and ".thmInfo" in command and "instantiateLevelParams" in command
    # the answer's type is the `α` of `@Exists.intro α p w h`, the witness its third argument
    assert "body.getArg! 0" in command and "body.getArg! 2" in command


def test_the_theorem_value_is_read_from_its_thm_info():
    """``ConstantInfo.value?`` returns ``none`` for a theorem unless ``allowOpaque := true`` (recent
    src/Lean/Declaration.lean): reading the value through it made every extraction "has no value"."""
    command = extraction_command("fps_x", 1)
    assert "value?" not in command
    assert "let .thmInfo thm := info" in command and "thm.value" in command
    assert "some (.thmInfo aux)" in command and "aux.value.instantiateLevelParams" in command


def test_a_failed_reparse_is_reported_not_logged():
    """With error recovery on, ``elabTermEnsuringType`` LOGS an unknown identifier (and returns ``sorry``): the
    command then carried an error and the extraction failed as a whole instead of reporting ``reparse_error``."""
    command = extraction_command("fps_x", 0)
    assert "Lean.Elab.Term.withoutErrToSorry" in command
    assert "Lean.withoutModifyingState" in command  # messages of the attempt are rolled back with the state
    reparse = command[command.index("Lean.withoutModifyingState") :]
    assert reparse.index("withoutErrToSorry") < reparse.index("elabTermEnsuringType")


def test_the_report_is_one_info_line():
    command = extraction_command("fps_x", 0)
    assert re.search(r'let line := "FPS_EXTRACT " \+\+ report\n\s*Lean\.logInfo m!"\{line\}"', command)
    assert command.count("Lean.logInfo") == 1


def test_the_tactic_probe_survives_a_tactic_that_closes_true():
    """``norm_num`` and ``aesop`` close ``True``; a bare ``trivial`` after them failed with "no goals" and the
    probe dropped the two main RPE tactics. ``all_goals trivial`` is a no-op on no goals."""
    text = tactic_probe_command("norm_num")
    assert text.split("\n") == ["example : True := by", "  try norm_num", "  all_goals trivial"]


def _top_level_sequence(tactic: str) -> bool:
    """Whether ``tactic`` is a SEQUENCE of tactics (a ``;`` or a line break outside brackets)."""
    depth = 0
    for tok in code_tokens(tactic):
        if tok.text in ("(", "[", "{", "⟨"):
            depth += 1
        elif tok.text in (")", "]", "}", "⟩"):
            depth -= 1
        elif depth == 0 and tok.text == ";":
            return True
    return "\n" in tactic.strip()


def test_tactic_mode_texts_are_single_tactics():
    """The REPL runs ``{"tactic": …}`` through ``runParserCategory `tactic``: ONE tactic (REPL issue #43,
    ``t1; t2`` is "expected end of input"). ``exfalso; omega`` therefore never fired on the REPL."""
    from prover.fps.prelude import PRUNE
    from prover.fps.statements import DEFAULT_RPE_TACTICS
    from prover.synthesis.settings import MustardSettings

    shipped = yaml.safe_load((Path(__file__).parents[1] / "configs" / "synth" / "mustard.yaml").read_text())
    settings = MustardSettings()
    texts = [*settings.trivial_tactics, *settings.contradiction_tactics, *DEFAULT_RPE_TACTICS, PRUNE]
    texts += [*shipped["trivial_tactics"], *shipped["contradiction_tactics"]]
    assert texts and not [t for t in texts if _top_level_sequence(t)]
    assert _top_level_sequence("exfalso; omega") and not _top_level_sequence("exfalso <;> omega")
