"""One small interface to language models, ``ChatModel.chat(messages, **params) -> text``, and two makers of it.

``OpenAIChat`` speaks the chat-completions protocol that vLLM, SGLang, TGI, Ollama and hosted APIs serve
(over ``httpx``); ``HFChat`` runs a local Hugging Face causal model. Synthesis needs nothing else from a model.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from prover.errors import ProverError
from prover.synthesis.settings import LLMSettings

Message = dict[str, str]


class LLMError(ProverError, RuntimeError):
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
    """``POST {base_url}/chat/completions``; transient failures (connection, 429, 5xx) are retried."""

    def __init__(self, settings: LLMSettings) -> None:
        import httpx

        if not settings.model:
            raise LLMConfigError("llm.model is empty: name the model the endpoint serves")
        self.settings = settings
        self.name = settings.model
        key = settings.api_key or os.environ.get(settings.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=settings.base_url.rstrip("/"), headers=headers, timeout=settings.timeout_s
        )

    def chat(self, messages: Sequence[Message], **params: Any) -> str:
        import httpx

        body = {
            "model": self.settings.model,
            "messages": list(messages),
            "temperature": params.pop("temperature", self.settings.temperature),
            "max_tokens": params.pop("max_tokens", self.settings.max_tokens),
            **params,
        }
        problem = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(min(2.0**attempt * 0.25, 5.0))
            try:
                reply = self._client.post("/chat/completions", json=body)
            except httpx.HTTPError as exc:
                problem = f"cannot reach {self.settings.base_url}: {type(exc).__name__}"
                continue
            if reply.status_code == 429 or reply.status_code >= 500:
                problem = f"{self.settings.base_url} answered HTTP {reply.status_code}"
                continue
            if reply.status_code in (400, 401, 403, 404):
                raise LLMConfigError(
                    f"{self.settings.base_url} answered HTTP {reply.status_code}: {reply.text[:200]}"
                )
            if reply.status_code != 200:
                raise LLMError(
                    f"{self.settings.base_url} answered HTTP {reply.status_code}: {reply.text[:200]}"
                )
            try:
                content = reply.json()["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError):
                raise LLMError("the endpoint's reply is not a chat completion") from None
            if not isinstance(content, str):
                raise LLMError("the endpoint's reply has no text content")
            return content
        raise LLMError(problem)

    def preflight(self) -> None:
        """Before a run writes anything: is the endpoint up, is the key accepted, is the model served?

        ``GET {base_url}/models`` (served by vLLM, SGLang, TGI, Ollama and hosted APIs) costs no generation;
        a server without that route (404) is taken as reachable, and an empty list proves nothing either way.
        """
        import httpx

        url = self.settings.base_url
        try:
            reply = self._client.get("/models")
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach {url}: {type(exc).__name__}") from None
        if reply.status_code in (401, 403):
            raise LLMConfigError(
                f"{url} refused the API key (HTTP {reply.status_code}); set {self.settings.api_key_env}"
            )
        if reply.status_code == 404:
            return
        if reply.status_code != 200:
            raise LLMError(f"{url} answered HTTP {reply.status_code} to GET /models")
        try:
            served = [str(m["id"]) for m in reply.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not the usual listing: the chat calls will tell
        if served and self.settings.model not in served:
            shown = ", ".join(served[:5]) + (" …" if len(served) > 5 else "")
            raise LLMConfigError(f"{url} does not serve model {self.settings.model!r} (it serves: {shown})")

    def close(self) -> None:
        self._client.close()


class HFChat:
    """A local causal model; the tokenizer's chat template when it has one, else ``role: text`` lines."""

    def __init__(self, settings: LLMSettings) -> None:
        from prover.generation.hf import pick_device, resolve_model

        if not settings.model:
            raise LLMConfigError("llm.model is empty: give a Hugging Face model name or path")
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            path = resolve_model(settings.model)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path)
        except Exception as exc:  # OSError, ValueError, ...: all mean "cannot load this model"
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LLMConfigError(f"cannot load model {settings.model!r}: {first}") from None
        self.device = pick_device(settings.device)
        self.model.to(self.device).eval()
        self.settings = settings
        self.name = settings.model
        self._lock = threading.Lock()  # one generate at a time: a model is not shared across threads safely

    def _prompt(self, messages: Sequence[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
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
