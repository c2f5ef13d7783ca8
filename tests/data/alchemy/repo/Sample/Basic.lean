/-
Copyright: written for the prover project's tests (a small file in the layout LeanDojo traces).
-/
import Mathlib.Algebra.Group.Basic
import Mathlib.Tactic.Ring

open Function

namespace Sample

/-- Addition swapped inside a hypothesis. -/
theorem add_swap (a b : ℕ) (h : a + b = 3) : b + a = 3 := by
  rw [Nat.add_comm]
  exact h

theorem two_steps (x y : ℕ) (hx : x ≤ y) :
    x < y + 1 := by
  have hy : y < y + 1 := Nat.lt_succ_self y
  calc x ≤ y := hx
    _ < y + 1 := hy

theorem term_mode (n : ℕ) : n + 0 = n := Nat.add_zero n

end Sample

theorem outside.{u} {α : Sort u} (p : α → Prop) (a : α) (h : p a) : p a := by exact h
