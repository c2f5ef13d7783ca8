"""Tiny randomly initialised transformers checkpoints for tests and benches (no download; no tests here).

One place for every test's tiny model, so a transformers change is fixed once: ``make_seq2seq`` (T5),
``make_causal`` (GPT-2) and ``make_classifier`` (GPT-2 sequence classifier) use the tokenizer-free ByT5 byte
tokenizer; ``tiny_bert`` is a one-layer BERT with the packaged MiniLM tokenizer (encoders, retrievers,
critics). ``train_steps`` > 0 fits a generator briefly on ``PAIRS`` so that decoding yields real tactics whose
scores can be checked.
"""

from __future__ import annotations

from pathlib import Path

PAIRS = [("n : ℕ\n⊢ n + 0 = n", "simp"), ("x : ℝ\nh : 0 ≤ x\n⊢ 0 ≤ x ^ 2", "positivity")]


def _fit(model, tok, causal: bool, steps: int) -> None:
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        for state, tactic in PAIRS:
            if causal:
                ids = tok(
                    state + ":::" + tactic + tok.eos_token, add_special_tokens=False, return_tensors="pt"
                )
                loss = model(input_ids=ids["input_ids"], labels=ids["input_ids"]).loss
            else:
                enc = tok([state], return_tensors="pt")
                labels = tok([tactic], return_tensors="pt")["input_ids"]
                loss = model(**enc, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def make_seq2seq(path: Path, train_steps: int = 0, d_model: int = 32) -> Path:
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tok = ByT5Tokenizer()
    cfg = T5Config(
        vocab_size=384,
        d_model=d_model,
        d_ff=2 * d_model,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        d_kv=16,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    model = T5ForConditionalGeneration(cfg)
    if train_steps:
        _fit(model, tok, causal=False, steps=train_steps)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def make_causal(
    path: Path, train_steps: int = 0, d_model: int = 32, layers: int = 2, positions: int = 1024
) -> Path:
    import torch
    from transformers import ByT5Tokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = ByT5Tokenizer()
    cfg = GPT2Config(
        vocab_size=384,
        n_embd=d_model,
        n_layer=layers,
        n_head=2,
        n_positions=positions,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )
    model = GPT2LMHeadModel(cfg)
    if train_steps:
        _fit(model, tok, causal=True, steps=train_steps)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def make_classifier(path: Path) -> Path:
    import torch
    from transformers import ByT5Tokenizer, GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(0)
    tok = ByT5Tokenizer()
    cfg = GPT2Config(
        vocab_size=384,
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=1024,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
        num_labels=1,
    )
    GPT2ForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def tiny_bert(path: Path) -> Path:
    """A 1-layer random BERT with the packaged MiniLM tokenizer (local files only)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from prover.retrieval.encoder import resolve_model_path

    tok = AutoTokenizer.from_pretrained(resolve_model_path("minilm"))
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path
