import Mathlib

/-! Root module of the prover's Lean project. Building it checks that Mathlib resolves at the pinned
version; proofs under test are elaborated through the REPL against this environment. -/
