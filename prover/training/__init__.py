"""Training pipeline: build training data with provenance, curate it, fine-tune models on it.

``records`` (one JSONL format per task), ``sources`` (readers of tactic JSONL, ``prover prove`` run
directories and LeanDojo Benchmark 4), ``build`` (splits by theorem, writing the files), ``curate`` (rules as
switches), ``settings`` (typed ``configs/train`` models), ``runs`` (output directory, metrics, resume) and one
module per trainable model (``encoder``).
"""
