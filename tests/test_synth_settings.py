"""configs/synth/*.yaml mirror the settings models; bad keys are one clear error; HF chat model works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prover.errors import ConfigError
from prover.settings import load_settings
from prover.synthesis.settings import AlchemySettings, LLMSettings, MustardSettings

REPO = Path(__file__).resolve().parent.parent


def test_mustard_yaml_mirrors_the_model_defaults() -> None:
    data = yaml.safe_load((REPO / "configs/synth/mustard.yaml").read_text(encoding="utf-8"))
    assert data.pop("name") == "mustard"
    assert data == MustardSettings().model_dump()


def test_alchemy_yaml_mirrors_the_model_defaults() -> None:
    data = yaml.safe_load((REPO / "configs/synth/alchemy.yaml").read_text(encoding="utf-8"))
    assert data.pop("name") == "alchemy"
    assert data == AlchemySettings().model_dump()


def test_unknown_or_bad_keys_name_the_key() -> None:
    with pytest.raises(ConfigError, match="synth.repair_round"):
        load_settings(MustardSettings, {"repair_round": 1}, "synth")
    with pytest.raises(ConfigError, match="synth.llm.kind"):
        load_settings(MustardSettings, {"llm": {"kind": "magic"}}, "synth")


def test_recorded_settings_never_hold_the_api_key() -> None:
    s = MustardSettings(llm=LLMSettings(api_key="sk-abc"))
    assert "sk-abc" not in str(s.recorded())


@pytest.mark.slow
def test_hf_chat_model_answers_with_a_tiny_random_model(tmp_path: Path) -> None:
    from tiny_models import make_causal

    from prover.synthesis.llm import HFChat, make_chat_model

    make_causal(tmp_path, d_model=16, layers=1, positions=512)
    chat = make_chat_model(
        LLMSettings(kind="hf", model=str(tmp_path), max_tokens=8, temperature=0, device="cpu")
    )
    assert isinstance(chat, HFChat) and chat.name == str(tmp_path)
    out = chat.chat([{"role": "user", "content": "Prove 1 + 1 = 2."}])
    assert isinstance(out, str)
    assert len(chat.tokenizer(out)["input_ids"]) <= 8 + 2  # only the new tokens, never the prompt echoed
    assert "Prove 1 + 1" not in out
