"""Data synthesis: MUSTARD-style problems written by a language model and checked by Lean.

``concepts`` (what to write about), ``llm`` (who writes), ``prompts`` (what is asked and how answers are read),
``check`` (what Lean says), ``mustard`` (one sample end to end, and a resumable run of many).
"""
