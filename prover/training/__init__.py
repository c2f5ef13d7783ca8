"""Training pipeline: build training data with provenance, curate it, fine-tune models on it.

``records`` (one JSONL format per task), ``sources`` (readers of tactic JSONL, ``prover prove`` run
directories, ``prover synth`` run directories and LeanDojo Benchmark 4), ``build`` (splits by theorem, writing
the files), ``curate`` (rules as switches), ``settings`` (typed ``configs/train`` models), ``runs`` (output
directory, metrics, resume), ``report`` (a run's curves as PNG in HTML), ``prove`` (``prover prove`` runs
through the evaluation API), ``iterate`` (expert iteration) and one module per trainable model.
"""
