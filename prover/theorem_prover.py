"""The front door: the one path from a theorem to a judged result.

API::

    from prover.theorem_prover import Attempt, Budget, ProverSettings, TheoremProver

    prover = TheoremProver.from_config(cfg)        # cfg: composed hydra config or plain dict with
                                                   # backend, generator, search, [retriever], [verify]
    attempt = prover.attempt(theorem, Budget(time_limit_s=60, max_expansions=50))
    attempt.status     # ProofStatus: proved | unverified | failed | budget_exhausted | timeout | error
    attempt.proof      # tactic script (a proof the search found; counts only when status is proved)
    attempt.verdict    # the judge's Verdict (or, when nothing was judged, the search's own rejection hints)
    attempt.judge      # which judge decided ("" when nothing reached the judge)
    attempt.search_s, attempt.judge_s, attempt.stats, attempt.samples, attempt.graph
    prover.judge(theorem, proof) -> Verdict        # check only (/check, `prover lean check`, synthesis)
    prover.close()                                 # or `with TheoremProver.from_config(cfg) as prover:`

Why one door: evaluation, serve, FPS, synthesis and expert iteration each used to write "search, then
verify, then set a status" themselves, and each reused the searcher's own verdict differently. Here the
search runs (``make_searcher(settings.search).search(session, generator, theorem, critic)``), then the judge
is called exactly ONCE on the proof it found: the REPL's answers during search are hints, and a proof counts
only when the judge accepts it (a found proof the judge rejects is ``unverified``). Anything that raises
(search, session, judge) ends the attempt as ``error``, never as proved (fail closed).

Settings are typed once (:class:`ProverSettings`); a per-call :class:`Budget` is a typed, validated override
of the search settings (``model_copy(update=…)`` then re-validated), never a dict merge, and a budget key the
chosen searcher does not have is an error naming the keys it has. Components are built lazily, once, and
reused across attempts; a caller may hand in its own session (a server's pool), generator (a batching
thread) or judge.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError

from prover.config import as_plain_dict
from prover.errors import ConfigError, ProverError
from prover.generation.base import Critic, TacticGenerator
from prover.generation.settings import GeneratorSettings, generator_settings
from prover.lean.judge import Judge, JudgeSettings, judge_settings, make_judge
from prover.lean.session import LeanSession
from prover.lean.types import Theorem, Verdict
from prover.retrieval.retriever import Retriever
from prover.retrieval.settings import RetrieverSettings, retriever_settings
from prover.search.api import SampleCounts, Searcher, SearchResult
from prover.search.graph import SearchGraph, SearchStats
from prover.search.settings import SearchSettings, search_settings
from prover.search.status import ProofStatus
from prover.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "Attempt",
    "Budget",
    "Judge",
    "ProofStatus",
    "ProverSettings",
    "TheoremProver",
    "TheoremProverError",
]


class TheoremProverError(ProverError):
    """Base of the front door's own exceptions (a bad budget, settings that cannot build a prover)."""


class BudgetError(TheoremProverError, ConfigError):
    """A budget override names a key the chosen searcher does not have, or a value it cannot take."""


class Budget(BaseModel):
    """Per-attempt limits overriding the search settings; ``None`` keeps the configured value.

    Frozen and ``extra="forbid"``: ``Budget(max_expantions=5)`` is an error, and so is a key the chosen
    searcher has no use for (``max_expansions`` for whole-proof sampling), found when it is applied.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: per-theorem wall clock over all attempts
    time_limit_s: PositiveFloat | None = None
    #: independent attempts (tree search) or sampling rounds (whole proof)
    attempts: PositiveInt | None = None
    #: tree search: generator expansions per attempt
    max_expansions: PositiveInt | None = None
    #: tree search: tactics per expansion
    num_sampled_tactics: PositiveInt | None = None
    #: whole proof: samples per round
    num_samples: PositiveInt | None = None

    def overrides(self) -> dict[str, Any]:
        """The keys this budget sets."""
        return {k: v for k, v in self.model_dump().items() if v is not None}

    @classmethod
    def fitting(cls, settings: SearchSettings, **limits: Any) -> Budget:
        """A budget of the ``limits`` that ``settings``' searcher has, the others dropped (``None``: keep).

        For callers whose limits are searcher-agnostic, such as a server request's ``max_expansions``, which
        whole-proof sampling has no use for; a value of the wrong type or range still raises
        (:class:`BudgetError`), and so does a key no searcher has."""
        unknown = sorted(k for k in limits if k not in cls.model_fields)
        if unknown:
            raise BudgetError(f"no budget key {', '.join(unknown)} (known: {', '.join(cls.model_fields)})")
        known = type(settings).model_fields
        kept = {k: v for k, v in limits.items() if v is not None and k in known}
        try:
            return cls(**kept)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err.get("loc", ()))
            raise BudgetError(f"budget {key}: {err.get('msg')}, got {err.get('input')!r}") from None

    def apply(self, settings: SearchSettings) -> SearchSettings:
        """``settings`` with this budget's keys replaced, validated again; :class:`BudgetError` naming the key
        when the searcher has no such key."""
        update = self.overrides()
        if not update:
            return settings
        known = type(settings).model_fields
        unknown = sorted(k for k in update if k not in known)
        if unknown:
            usable = sorted(k for k in type(self).model_fields if k in known)
            raise BudgetError(
                f"search={settings.name} has no budget key {', '.join(unknown)} (it takes: {', '.join(usable)})"
            )
        try:
            return type(settings).model_validate(settings.model_copy(update=update).model_dump())
        except ValidationError as exc:  # defensive: Budget's own types already match the settings'
            raise BudgetError(f"budget for search={settings.name}: {exc.errors()[0].get('msg')}") from None


class ProverSettings(Settings):
    """The typed settings a :class:`TheoremProver` is built from, once.

    ``backend`` stays a checked plain mapping: the Lean layer types it per backend when it builds a session or
    a judge (``prover.lean.factory.load_backend_settings``).
    """

    backend: dict[str, Any]
    generator: GeneratorSettings
    search: SearchSettings
    retriever: RetrieverSettings | None = None
    #: the ``verify`` group: which judge decides (``auto``: comparator where installed, else repl;
    #: a scripted world is its own judge, ``simulation``)
    verify: JudgeSettings = Field(default_factory=JudgeSettings)

    @classmethod
    def from_config(cls, cfg: Any) -> ProverSettings:
        """From a composed config (hydra node or dict with ``backend``, ``generator``, ``search``, optionally
        ``retriever`` and ``verify``); each group is checked by its own layer, errors name ``group.key``."""
        data = as_plain_dict(cfg, "config")
        missing = [g for g in ("backend", "generator", "search") if data.get(g) is None]
        if missing:
            raise ConfigError(f"the config has no {', '.join(missing)} group")
        from prover.lean.factory import check_backend_config

        retriever = data.get("retriever")
        return cls(
            backend=check_backend_config(data["backend"]),
            generator=generator_settings(data["generator"]),
            search=search_settings(data["search"]),
            retriever=retriever_settings(retriever) if retriever else None,
            verify=judge_settings(data.get("verify")),
        )


@dataclass(frozen=True)
class Attempt:
    """One theorem's judged outcome. Only ``status is ProofStatus.PROVED`` counts: the judge accepted it."""

    theorem: str
    status: ProofStatus
    proof: str | None
    #: the judge's verdict on ``proof``; when nothing reached the judge, the search's own (a hint, e.g.
    #: whole-proof sampling's rejection reasons) or None
    verdict: Verdict | None
    #: which judge decided ("" when nothing was judged)
    judge: str
    #: the searched budget string (N×S×T) and mode (``search`` | ``whole_proof``)
    budget: str
    mode: str
    stats: SearchStats
    attempts: int = 0
    samples: SampleCounts | None = None
    graph: SearchGraph | None = None
    error: str | None = None
    search_s: float = 0.0
    judge_s: float = 0.0

    @property
    def proved(self) -> bool:
        return self.status is ProofStatus.PROVED

    @property
    def time_s(self) -> float:
        return self.search_s + self.judge_s


class TheoremProver:
    """Session, generator, retriever, searcher and judge, built once from :class:`ProverSettings`.

    Objects handed in are used as they are and are not closed by :meth:`close` (they belong to the caller);
    what the prover builds itself, it closes.
    """

    def __init__(
        self,
        settings: ProverSettings,
        *,
        session: LeanSession | None = None,
        generator: TacticGenerator | None = None,
        retriever: Retriever | None = None,
        judge: Judge | None = None,
        critic: Critic | None = None,
    ) -> None:
        self.settings = settings
        self._session = session
        self._generator = generator
        self._retriever = retriever
        self._judge = judge
        self._critic = critic
        self._owned: set[str] = set()
        #: searchers per distinct budgeted settings, the most recent few (a server's requests each bring
        #: their own time limit: an unbounded cache would grow with every request)
        self._searchers: OrderedDict[str, Searcher] = OrderedDict()
        #: components are built lazily, and a server attempts from several threads: one build each
        self._lock = threading.RLock()
        #: seconds spent building components (kept out of every attempt's time)
        self.load_s = 0.0

    @classmethod
    def from_config(cls, cfg: Any, **components: Any) -> TheoremProver:
        """Type ``cfg`` (:meth:`ProverSettings.from_config`) and build lazily; ``components`` as in ``__init__``."""
        settings = cfg if isinstance(cfg, ProverSettings) else ProverSettings.from_config(cfg)
        return cls(settings, **components)

    # --- components, built on first use -------------------------------------------------------------
    @property
    def session(self) -> LeanSession:
        with self._lock:
            if self._session is None:
                from prover.lean.factory import make_session

                self._session = self._timed(lambda: make_session(self.settings.backend), "session")
            return self._session

    @property
    def retriever(self) -> Retriever | None:
        """The premise retriever, when ``retriever.index_path`` names an index (else None)."""
        spec = self.settings.retriever
        with self._lock:
            if self._retriever is None and spec is not None and spec.index_path:
                from prover.generation.factory import make_retriever

                self._retriever = self._timed(lambda: make_retriever(spec), "retriever")
            return self._retriever

    @property
    def generator(self) -> TacticGenerator:
        """The generator, given the retriever as its context (kNN hint lists, retrieval augmentation)."""
        with self._lock:
            if self._generator is None:
                from prover.generation.factory import make_generator

                retriever = self.retriever
                self._generator = self._timed(
                    lambda: make_generator(
                        self.settings.generator, retriever=retriever, retriever_cfg=self.settings.retriever
                    ),
                    "generator",
                )
            return self._generator

    @property
    def judge_name(self) -> str:
        return self._get_judge().name

    def searcher(self, budget: Budget | None = None) -> Searcher:
        """The searcher of the settings with ``budget`` applied (one per distinct setting, reused)."""
        settings = budget.apply(self.settings.search) if budget is not None else self.settings.search
        key = settings.model_dump_json()
        with self._lock:
            searcher = self._searchers.get(key)
            if searcher is None:
                from prover.search.factory import make_searcher

                searcher = self._searchers[key] = make_searcher(settings)
                while len(self._searchers) > _SEARCHER_CACHE:
                    self._searchers.popitem(last=False)
            self._searchers.move_to_end(key)
            return searcher

    def prepare(self) -> float:
        """Build everything now (model load, session, judge); returns ``load_s``. Idempotent."""
        _ = self.generator, self.session, self.searcher()
        self._get_judge()
        return self.load_s

    @property
    def command_judge(self) -> Judge:
        """The judge object itself (built on first use): FPS hands it RPE commands (``check_command``) as well
        as the proofs :meth:`judge` sends it, so one judge decides both."""
        return self._get_judge()

    def _get_judge(self) -> Judge:
        with self._lock:
            if self._judge is None:
                self._judge = self._timed(self._build_judge, "judge")
            return self._judge

    def _build_judge(self) -> Judge:
        return make_judge(self.settings.verify, self.settings.backend)

    def _timed(self, build: Callable[[], Any], name: str) -> Any:
        t0 = time.monotonic()
        obj = build()
        self.load_s += time.monotonic() - t0
        self._owned.add(name)
        return obj

    # --- the front door ---------------------------------------------------------------------------
    def attempt(
        self,
        theorem: Theorem,
        budget: Budget | None = None,
        *,
        session: LeanSession | None = None,
        generator: TacticGenerator | None = None,
        definition_names: Sequence[str] = (),
    ) -> Attempt:
        """Search for a proof of ``theorem`` within ``budget``, judge the proof found once, return the outcome.

        ``session``: search on this session instead of the prover's own (a server's pooled session);
        ``generator``: ask this one instead of the prover's own (a server's per-job view of its batching
        worker, which counts and cancels); ``definition_names``: the header's holes the proof fills besides the
        theorem (PutnamBench's ``…_solution`` in "find the answer" mode), passed to the judge, which checks them
        as definition holes (comparator and simulation do; the repl judge refuses them). A bad ``budget`` raises :class:`BudgetError` before anything runs;
        every other failure is an ``error`` attempt (and the prover's own session is replaced). Control-flow
        exceptions that are not ``Exception`` (a server's cancellation, ``KeyboardInterrupt``) pass through.
        """
        searcher = self.searcher(budget)
        settings = searcher.settings
        t0 = time.monotonic()
        used: tuple[int, int] | None = None
        try:
            lean = session if session is not None else self.session
            asked = generator if generator is not None else self.generator
            # the prover's own generator runs one attempt at a time per worker: its server's token counter,
            # read before and after, is this attempt's (a caller's generator may be shared: not counted here)
            used = token_usage(asked) if generator is None else None
            t0 = time.monotonic()
            result = searcher.search(lean, asked, theorem, self._critic)
        except Exception as exc:  # this theorem's outcome, never the caller's crash
            log.error("attempt at %s failed: %s", theorem.name, one_line(exc))
            log.debug("attempt at %s failed", theorem.name, exc_info=True)
            if session is None:
                self.reset_session()
            return Attempt(
                theorem.name,
                ProofStatus.ERROR,
                None,
                None,
                "",
                settings.budget,
                settings.mode,
                SearchStats(),
                error=one_line(exc),
                search_s=time.monotonic() - t0,
            )
        search_s = time.monotonic() - t0
        count_tokens(result, used, asked)
        return self._judged(theorem, result, settings, search_s, definition_names)

    def _judged(
        self,
        theorem: Theorem,
        result: SearchResult,
        settings: SearchSettings,
        search_s: float,
        definition_names: Sequence[str] = (),
    ) -> Attempt:
        """The attempt from a search result: a claimed proof goes to the judge once; its verdict decides."""
        status, verdict, judge, error, judge_s = result.status, result.verdict, "", result.error, 0.0
        if status is ProofStatus.PROVED and not (result.proof or "").strip():
            status = ProofStatus.FAILED  # a searcher claiming a proof it cannot show has none
        elif status is ProofStatus.PROVED:
            assert result.proof is not None
            t0 = time.monotonic()
            try:
                judge = self.judge_name
                verdict = self._get_judge().judge(
                    theorem, result.proof, definition_names=tuple(definition_names)
                )
                if not verdict.accepted:
                    status = ProofStatus.UNVERIFIED
            except Exception as exc:  # fail closed: a judge that cannot answer has not accepted
                log.error("judging %s failed: %s", theorem.name, one_line(exc))
                status, error = ProofStatus.ERROR, f"judge failed: {one_line(exc)}"
                verdict = Verdict(False, (error,), check="judge", judge=judge)
            judge_s = time.monotonic() - t0
        return Attempt(
            theorem.name,
            status,
            result.proof,
            verdict,
            judge,
            result.budget,
            settings.mode,
            result.stats,
            attempts=result.attempts,
            samples=result.samples,
            graph=result.graph,
            error=error,
            search_s=search_s,
            judge_s=judge_s,
        )

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Verdict:
        """The judge's verdict on ``proof`` alone (no search); any failure is a rejection naming it.

        ``definition_names``: holes the proof fills besides the theorem (FPS answers, ``…_solution``)."""
        try:
            return self._get_judge().judge(theorem, proof, definition_names=definition_names)
        except Exception as exc:
            return Verdict(False, (f"judge failed: {one_line(exc)}",), check="judge")

    def describe(self) -> dict[str, Any]:
        """What decides and what runs, for ``run.json`` and reports: the session's description + the judge."""
        described = dict(self.session.describe())
        described["judge"] = self.judge_name
        return described

    # --- lifetime ---------------------------------------------------------------------------------
    def reset_session(self) -> None:
        """Drop the prover's own session (after a failure); the next use starts a fresh one."""
        if self._session is not None and "session" in self._owned:
            _close_quietly(self._session)
            self._session = None
            self._owned.discard("session")

    def close(self) -> None:
        """Close what the prover built (judge, generator, session); idempotent."""
        for name in ("judge", "generator", "retriever", "session"):
            if name in self._owned:
                _close_quietly(getattr(self, f"_{name}"))
                setattr(self, f"_{name}", None)
        self._owned.clear()

    def __enter__(self) -> TheoremProver:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


#: searchers kept for reuse (one per distinct budget)
_SEARCHER_CACHE = 8


def token_usage(generator: object) -> tuple[int, int] | None:
    """``(prompt, completion)`` tokens a generator's model server reported so far (``generator=openai``: its
    client's running total), or None for a generator without a server."""
    usage = getattr(getattr(generator, "client", None), "usage", None)
    prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


def count_tokens(result: SearchResult, before: tuple[int, int] | None, generator: object) -> None:
    """Put this search's tokens into its stats, for every searcher: whole-proof sampling counts its own
    (per sample batch); tree search gets the server's counter's growth during the search."""
    stats, samples = result.stats, result.samples
    if samples is not None and (samples.prompt_tokens or samples.completion_tokens):
        stats.prompt_tokens, stats.completion_tokens = samples.prompt_tokens, samples.completion_tokens
        return
    after = token_usage(generator) if before is not None else None
    if before is not None and after is not None:
        stats.prompt_tokens = max(0, after[0] - before[0])
        stats.completion_tokens = max(0, after[1] - before[1])


def _close_quietly(obj: object) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # a broken component may fail to close; it is dropped anyway
            log.debug("closing %s raised", type(obj).__name__, exc_info=True)


def one_line(value: object) -> str:
    """An exception or error value as one line: ``Type: first line of the message``."""
    if isinstance(value, BaseException):
        text = str(value).strip().splitlines()[0] if str(value).strip() else ""
        return f"{type(value).__name__}: {text}" if text else type(value).__name__
    detail = getattr(value, "reason", None) or " ".join(getattr(value, "messages", ()) or ())
    text = str(detail or value).strip()
    return (text.splitlines() or [repr(value)])[0]
