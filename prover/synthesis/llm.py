"""One small interface to language models, ``ChatModel.chat(messages, **params) -> text``, and two makers of it.

``OpenAIChat`` speaks the chat-completions protocol that vLLM, SGLang, TGI, Ollama and hosted APIs serve
(through ``prover.generation.openai_client``); ``HFChat`` runs a local Hugging Face causal model. Synthesis needs
nothing else from a model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from prover.synthesis.errors import SynthesisError
from prover.synthesis.settings import LLMSettings

Message = dict[str, str]


class LLMError(SynthesisError, RuntimeError):
    """The model could not answer (endpoint down, bad reply, model not loadable); one line says why.

    ``exit_code`` follows the CLI's rule: 1 when the machine is wrong (endpoint down), 2 when the user's
    configuration is (no model name, a key or model the endpoint refuses, a model that cannot be loaded).
    """

    exit_code = 1


class LLMConfigError(LLMError):
    """The endpoint answers, but refuses what we asked for (API key, model name): fix the config."""

    exit_code = 2


@runtime_checkable
class ChatModel(Protocol):
    name: str

    def chat(self, messages: Sequence[Message], **params: Any) -> str: ...

    def preflight(self) -> None:
        """Raise :class:`LLMError` when the model cannot possibly answer (checked before a run writes)."""
        ...

    def close(self) -> None: ...


class OpenAIChat:
    """``POST {base_url}/chat/completions`` through the project's one endpoint client
    (:class:`prover.generation.openai_client.OpenAIClient`: retries on connection errors, 429 and 5xx with
    backoff, per-request timeout, token accounting, the ``GET /models`` preflight); its errors become
    :class:`LLMError` / :class:`LLMConfigError` with the same sentence."""

    def __init__(self, settings: LLMSettings) -> None:
        from prover.generation.openai_client import EndpointSettings, OpenAIClient

        if not settings.model:
            raise LLMConfigError("llm.model is empty: name the model the endpoint serves")
        self.settings = settings
        self.name = settings.model
        with _as_llm_errors():
            self._client = OpenAIClient(
                EndpointSettings(
                    base_url=settings.base_url,
                    model=settings.model,
                    api_key_env=settings.api_key_env,
                    api_key=settings.api_key,
                    timeout_s=settings.timeout_s,
                    retries=settings.retries,
                )
            )

    @property
    def usage(self) -> Any:
        """Tokens the endpoint reported over this model's lifetime."""
        return self._client.usage

    def chat(self, messages: Sequence[Message], **params: Any) -> str:
        temperature = params.pop("temperature", self.settings.temperature)
        max_tokens = params.pop("max_tokens", self.settings.max_tokens)
        with _as_llm_errors():
            done = self._client.chat(
                list(messages), n=1, temperature=temperature, max_tokens=max_tokens, **params
            )
        return done.texts[0]

    def preflight(self) -> None:
        """Before a run writes anything: is the endpoint up, is the key accepted, is the model served?

        ``GET {base_url}/models`` (served by vLLM, SGLang, TGI, Ollama and hosted APIs) costs no generation;
        a server without that route (404) is taken as reachable, and an empty list proves nothing either way.
        """
        with _as_llm_errors():
            self._client.preflight()

    def close(self) -> None:
        self._client.close()


@contextmanager
def _as_llm_errors() -> Iterator[None]:
    """The endpoint client's errors as synthesis' own (same sentence; config errors keep exit code 2)."""
    from prover.generation.openai_client import EndpointConfigError, EndpointError

    try:
        yield
    except EndpointConfigError as exc:
        raise LLMConfigError(str(exc)) from None
    except EndpointError as exc:
        raise LLMError(str(exc)) from None


class HFChat:
    """A local causal model; the tokenizer's chat template when it has one, else ``role: text`` lines."""

    def __init__(self, settings: LLMSettings) -> None:
        from prover.generation.hf import pick_device, resolve_model

        if not settings.model:
            raise LLMConfigError("llm.model is empty: give a Hugging Face model name or path")
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            path = resolve_model(settings.model)
            # Any: transformers' stubs type these per model class; we use only the common surface
            self.tokenizer: Any = AutoTokenizer.from_pretrained(path)
            self.model: Any = AutoModelForCausalLM.from_pretrained(path)
        except Exception as exc:  # OSError, ValueError, ...: all mean "cannot load this model"
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LLMConfigError(f"cannot load model {settings.model!r}: {first}") from None
        self.device = pick_device(settings.device)
        model: Any = self.model
        model.to(self.device).eval()
        self.settings = settings
        self.name = settings.model
        self._lock = threading.Lock()  # one generate at a time: a model is not shared across threads safely

    def _prompt(self, messages: Sequence[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
            )
        lines = [f"{m['role']}: {m['content']}" for m in messages]
        return "\n\n".join(lines) + "\n\nassistant: "

    def chat(self, messages: Sequence[Message], **params: Any) -> str:
        import torch

        temperature = float(params.get("temperature", self.settings.temperature))
        max_new = int(params.get("max_tokens", self.settings.max_tokens))
        inputs = self.tokenizer(self._prompt(messages), return_tensors="pt").to(self.device)
        sample = temperature > 0
        with self._lock, torch.no_grad():
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_new,
                do_sample=sample,
                temperature=temperature if sample else None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def preflight(self) -> None:
        """Loading the model in the constructor was the check."""

    def close(self) -> None:
        pass


def make_chat_model(settings: LLMSettings) -> ChatModel:
    return OpenAIChat(settings) if settings.kind == "openai" else HFChat(settings)
