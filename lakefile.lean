import Lake
open Lake DSL

/-! The Lean side of the prover: Mathlib and the REPL pinned to the toolchain in `lean-toolchain`
(v4.24.0, the version the miniF2F statements of `datasets/manifest.json` are written for). -/

package «lean_prover» where
  leanOptions := #[⟨`autoImplicit, false⟩]

-- mathlib tag v4.24.0 = commit f897ebcf72cd16f89ab4577d0c826cd14afaafc7 (the REPL tag v4.24.0 matches it)
require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "v4.24.0"

require REPL from git
  "https://github.com/leanprover-community/repl" @ "v4.24.0"

@[default_target]
lean_lib LeanProver where
  srcDir := "lean_project"
