"""Kept for old imports only: the tiny test models live in ``tests/tiny_models.py`` (import them from there)."""

from __future__ import annotations

from tiny_models import PAIRS, make_causal, make_classifier, make_seq2seq, tiny_bert

__all__ = ["PAIRS", "make_causal", "make_classifier", "make_seq2seq", "tiny_bert"]
