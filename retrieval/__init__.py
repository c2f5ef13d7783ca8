"""Premise corpora, text encoders, and dense / sparse indexes over them."""
