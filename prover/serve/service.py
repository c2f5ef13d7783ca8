"""What the server can do, built ONCE from the composed hydra config, independent of HTTP.

``ProverService.from_config(cfg, settings)`` turns ``cfg.backend`` / ``cfg.generator`` / ``cfg.retriever`` /
``cfg.search`` into objects through the project's factories only (sessions: ``prover.lean.factory``,
generator: ``prover.generation.factory``, searcher: ``prover.search.factory``, premises: ``prover.retrieval``),
so ``prover serve generator=hf generator.model=... backend=repl`` means what it means everywhere else. The
blocking methods here run on worker threads; ``prover.serve.app`` only translates HTTP to these calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover import __version__
from prover.errors import ConfigError
from prover.generation.base import GenerationRequest, Suggestion
from prover.lean.types import Crash, ProofFinished, TacticError, TacticResult, TacticState, Theorem, Timeout
from prover.retrieval.settings import RetrieverSettings, retriever_settings
from prover.search.settings import SearchSettings, search_settings
from prover.serve.batching import Cancelled, GeneratorWorker
from prover.serve.errors import ServeError
from prover.serve.pool import SessionPool
from prover.serve.settings import ServeSettings
from prover.theorem_prover import Attempt, Budget, BudgetError, TheoremProver

log = logging.getLogger("prover.serve")

DEFAULT_HEADER = "import Mathlib\n"


class ServeSetupError(ServeError, ConfigError):
    """The server cannot be built from this configuration; the message names the part and the problem."""


class ServeLeanMissing(ServeSetupError):
    """Lean cannot start here (no toolchain): the machine, not the command line, is wrong (exit code 1, as for
    ``prover prove``)."""


class BadInput(ServeError, ValueError):
    """A request whose content (not its JSON shape) is unusable: one sentence for a 400."""


def theorem_from(statement: str, header: str | None, guard_options: dict[str, Any] | None = None) -> Theorem:
    """A ``Theorem`` from the editor's declaration text (a trailing ``:= by sorry`` is allowed and dropped).

    Only the header's header commands are kept (``prover.serve.context.clean_header``); :class:`BadInput` when the
    text is no declaration, or its statement or a header command would do more than state a theorem.
    """
    from prover.lean.lexer import LexError
    from prover.lean.statement import split_declaration
    from prover.serve.context import clean_header, statement_refusals

    text = statement.strip()
    if not text:
        raise BadInput("the statement is empty")
    try:
        parts = split_declaration(text)
    except (LexError, ValueError) as exc:
        raise BadInput(f"cannot read the statement: {exc}") from None
    header_text, header_reasons, dropped = clean_header(header or "", guard_options)
    refusals = statement_refusals(parts, guard_options) + header_reasons
    if refusals:
        raise BadInput("; ".join(refusals[:3]))
    if dropped:
        log.info(
            "header: %d command(s) not sent to Lean (%s)", len(dropped), ", ".join(sorted(set(dropped))[:5])
        )
    header = header_text
    if parts.proof is not None:
        try:
            return Theorem.from_formal_statement(
                parts.name or "example", text, _header(header), source="serve"
            )
        except ValueError:
            raise BadInput(
                "the statement already has a proof after ':='; send the declaration without it"
            ) from None
    return Theorem(parts.name or "example", text, _header(header), source="serve")


#: The answer of /check when no Lean runs: the guard may refuse, but it can never accept.
NOT_CHECKED = (
    "not checked by Lean: this server runs without a Lean backend (serve.allow_guard_only); "
    "the soundness guard found nothing to refuse, which does not make it a proof"
)


def guard_only_check(theorem: Theorem, proof: str, guard_options: dict[str, Any] | None) -> dict[str, Any]:
    """/check without Lean: ``rejected`` when the guard refuses, else ``not_checked`` -- never ``accepted``."""
    from prover.lean.verify import verify_proof

    verdict = verify_proof(theorem, proof, options=guard_options)
    if verdict.accepted:
        return {"accepted": False, "status": "not_checked", "reasons": [NOT_CHECKED], "mode": "guard-only"}
    return {
        "accepted": False,
        "status": "rejected",
        "reasons": list(verdict.reasons),
        "mode": "guard-only",
        "check": verdict.check or None,
    }


def _one_line(text: str, limit: int = 120) -> str:
    """Lean text quoted in a message as the user wrote it (not as a Python repr with ``\n`` escapes)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _header(header: str | None) -> str:
    if header is None or not header.strip():
        return DEFAULT_HEADER
    return header if header.endswith("\n") else header + "\n"


@dataclass
class CheckedSuggestion:
    """One suggestion and what the session said of it (the ``/suggest`` row)."""

    tactic: str
    logprob: float
    status: str
    message: str | None = None
    goals_after: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tactic": self.tactic, "logprob": self.logprob, "status": self.status}
        if self.message is not None:
            out["message"] = self.message
        if self.goals_after is not None:
            out["goals_after"] = self.goals_after
        return out


def describe_result(tactic: str, logprob: float, result: TacticResult) -> CheckedSuggestion:
    """A session result as a suggestion status (closes_goal / valid / error / refused)."""
    if isinstance(result, ProofFinished):
        return CheckedSuggestion(tactic, logprob, "closes_goal", goals_after=[])
    if isinstance(result, TacticState):
        return CheckedSuggestion(tactic, logprob, "valid", goals_after=list(result.goals))
    if isinstance(result, TacticError):
        status = "refused" if result.rejected_by_guard else "error"
        return CheckedSuggestion(tactic, logprob, status, message="; ".join(result.messages)[:2000])
    if isinstance(result, Timeout):
        return CheckedSuggestion(tactic, logprob, "error", message=f"timed out after {result.seconds:g} s")
    if isinstance(result, Crash):
        return CheckedSuggestion(tactic, logprob, "error", message=f"Lean crashed: {result.reason}"[:2000])
    return CheckedSuggestion(tactic, logprob, "error", message=f"unexpected result {type(result).__name__}")


def _leads_with(state_goals: Sequence[str], sent: Sequence[str]) -> bool:
    """Are the goals the editor sent the state's first goals (whitespace aside)? An editor may send only the
    goal under the cursor, which is the one the next tactic acts on."""

    def norm(goals: Sequence[str]) -> list[str]:
        return [" ".join(g.split()) for g in goals]

    return bool(sent) and norm(state_goals)[: len(sent)] == norm(sent)


class ProverService:
    """Generator worker, session pools, searcher config, retriever, encoder, guard: the server's abilities."""

    def __init__(
        self,
        settings: ServeSettings,
        generator: Any,
        *,
        session_factory: Callable[[], Any] | None = None,
        search: SearchSettings | None = None,
        retriever: Any = None,
        guard_options: dict[str, Any] | None = None,
        generator_name: str = "unknown",
        backend_name: str = "none",
        backend_kind: str = "none",
        lean_version: str = "none",
        max_state_chars: int = 100_000,
        encoder_loader: Callable[[], Any] | None = None,
        solver_settings: Any = None,
        prover: TheoremProver | None = None,
    ) -> None:
        from prover.lean.guard import make_tactic_guard

        self.settings = settings
        self.worker = GeneratorWorker(generator, settings.max_generate_queue, settings.max_batch)
        self.sessions = SessionPool(session_factory, settings.pool_size) if session_factory else None
        self.prove_sessions = (
            SessionPool(session_factory, settings.prove_workers, "proof-search sessions")
            if session_factory
            else None
        )
        #: the composed ``search`` settings, typed once; each job gets a validated copy with its budget
        self.search: SearchSettings = search if search is not None else search_settings({"name": "bfs"})
        #: the front door (search, judge once, one typed result) behind /prove, /solve and /check
        self.prover = prover
        self.retriever = retriever
        self.guard_options = dict(guard_options or {})
        self.tactic_guard = make_tactic_guard(self.guard_options)
        self.generator_name = generator_name
        self.backend_name = backend_name
        self.backend_kind = backend_kind
        self.lean_version = lean_version
        self.max_state_chars = max_state_chars
        self._encoder_loader = encoder_loader
        self.solver_settings = solver_settings
        self._encoder: Any = None
        self._retrieval_lock = threading.Lock()

    # --- construction from the composed config -----------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Any, settings: ServeSettings) -> ProverService:
        """Build every part now (fail at start-up, not on the first request); errors are one sentence."""
        from prover.errors import ProverError
        from prover.generation.factory import make_generator
        from prover.generation.settings import generator_settings
        from prover.lean.factory import LeanUnavailable, check_backend_config, make_session, preflight
        from prover.search.factory import make_searcher

        try:
            gen_settings = generator_settings(cfg.generator)
            search = search_settings(cfg.get("search") or {"name": "bfs"})
            make_searcher(search)  # builds once now, so a bad search config fails at start-up
            backend_cfg = check_backend_config(cfg.backend)
        except ValueError as exc:
            raise ServeSetupError(str(exc)) from None
        session_factory = None
        backend_name = "none"
        lean_version = "none"
        try:
            preflight(backend_cfg)
            session = make_session(backend_cfg)
            described = session.describe()
            session.close()
        except LeanUnavailable as exc:
            if backend_cfg.get("name") == "scripted":  # a world file that is not there is a mistake, not a
                raise ServeSetupError(str(exc)) from None  # missing toolchain: never serve without it
            if not settings.allow_guard_only:
                raise ServeLeanMissing(
                    f"{exc} -- set serve.allow_guard_only=true to serve unchecked suggestions without Lean"
                ) from None
            log.warning("serving without Lean (suggestions unchecked, /check not checked by Lean): %s", exc)
        except ValueError as exc:
            raise ServeSetupError(str(exc)) from None
        else:
            session_factory = lambda: make_session(backend_cfg)  # noqa: E731
            if backend_cfg.get("name") == "scripted":  # the file's name only: /version shows no paths
                backend_name = f"scripted world {Path(str(backend_cfg.get('world'))).name}"
                lean_version = "none (a scripted world simulates Lean)"
            else:
                backend_name = str(described.get("backend") or backend_cfg.get("name"))
                lean_version = str(described.get("lean") or "unknown")
        solver_settings = None
        if importlib.util.find_spec("prover.fps") is not None:
            from prover.fps.run import solver_settings as load_solver

            try:
                solver_settings = load_solver(cfg.get("solver"))
            except ValueError as exc:
                raise ServeSetupError(str(exc)) from None
        retriever = None
        retriever_set: RetrieverSettings | None = None
        if cfg.get("retriever") is not None:
            try:
                retriever_set = retriever_settings(cfg.get("retriever"))
            except ValueError as exc:
                raise ServeSetupError(str(exc)) from None
        if retriever_set is not None and retriever_set.index_path:
            from prover.generation.factory import make_retriever

            try:
                retriever = make_retriever(retriever_set)
            except ValueError as exc:
                raise ServeSetupError(str(exc)) from None
        try:
            generator = make_generator(
                gen_settings,
                retriever=retriever,
                retriever_cfg=retriever_set,
            )
        except (ProverError, ValueError, OSError) as exc:
            raise ServeSetupError(f"generator={gen_settings.name}: {exc}") from None
        prover = None
        if session_factory is not None:
            from prover.lean.judge import judge_settings
            from prover.theorem_prover import ProverSettings

            try:
                typed = ProverSettings(
                    backend=backend_cfg,
                    generator=gen_settings,
                    search=search,
                    retriever=retriever_set,
                    verify=judge_settings(cfg.get("verify")),
                )
                prover = TheoremProver(typed, generator=generator, retriever=retriever)
                _ = prover.judge_name  # builds the judge now: a judge that cannot work here fails at start-up
            except (ProverError, ValueError) as exc:
                raise ServeSetupError(str(exc)) from None
        model = getattr(gen_settings, "model", None)
        encoder_name = str(getattr(retriever_set, "encoder", None) or "minilm")
        device = str(getattr(retriever_set, "device", None) or "cpu")

        def load_encoder() -> Any:
            from prover.retrieval.encoder import load_encoder as load

            return load(encoder_name, device=device)

        return cls(
            settings,
            generator,
            session_factory=session_factory,
            search=search,
            retriever=retriever,
            guard_options=dict(backend_cfg.get("guard") or {}),
            generator_name=f"{gen_settings.name}:{model}" if model else gen_settings.name,
            backend_name=backend_name,
            backend_kind=str(backend_cfg.get("name")) if session_factory else "none",
            lean_version=lean_version,
            max_state_chars=gen_settings.max_state_chars,
            encoder_loader=load_encoder,
            solver_settings=solver_settings,
            prover=prover,
        )

    # --- search budgets: typed overrides of the composed settings ------------------------------------
    @property
    def default_max_expansions(self) -> int | None:
        """The configured expansions of a tree search; ``None`` for whole-proof sampling (no expansions)."""
        value = getattr(self.search, "max_expansions", None)
        return int(value) if value is not None else None

    def search_within(self, max_expansions: int | None, time_limit_s: float) -> SearchSettings:
        """The composed search settings with one request's budget, validated like the config itself.

        ``max_expansions`` applies to searchers that have it (bfs, mcts, mps); whole-proof sampling's budget
        is ``num_samples`` x ``attempts`` and only its wall clock is overridden.
        """
        budget = self._budget(max_expansions, time_limit_s)
        try:
            return budget.apply(self.search)
        except BudgetError as exc:
            raise BadInput(str(exc)) from None

    def _budget(self, max_expansions: int | None, time_limit_s: float) -> Budget:
        """One request's limits as a typed budget of the configured searcher (``max_expansions`` only where it
        has them); a bad value is the request's fault (``BadInput``)."""
        try:
            return Budget.fitting(self.search, max_expansions=max_expansions, time_limit_s=time_limit_s)
        except BudgetError as exc:
            raise BadInput(str(exc)) from None

    def attempt(
        self, theorem: Theorem, session: Any, generator: Any, max_expansions: int | None, time_limit_s: float
    ) -> Attempt:
        """One /prove job through the front door: the request's limits as a typed budget (``max_expansions``
        only for searchers that have it), the search on the pooled ``session`` and the job's ``generator``,
        the found proof judged once."""
        if self.prover is None:
            raise BadInput("proof search needs a Lean backend")
        budget = self._budget(max_expansions, time_limit_s)
        return self.prover.attempt(theorem, budget, session=session, generator=generator)

    @property
    def has_lean(self) -> bool:
        return self.sessions is not None

    @property
    def check_mode(self) -> str:
        if not self.has_lean:
            return "guard-only"
        return "scripted" if self.backend_kind == "scripted" else "lean"

    @property
    def judge_fields(self) -> dict[str, Any]:
        """``judge`` (whose verdict an answer carries) and ``simulation`` (true when no Lean ran: a scripted
        world decided), for every /check and /prove answer, so an editor never shows a simulated "accepted" as
        Lean's; empty without a backend (nothing is ever accepted then)."""
        if not self.has_lean:
            return {}
        if self.prover is not None:
            judge = self.prover.judge_name
        else:
            judge = "simulation" if self.backend_kind == "scripted" else "repl"
        return {"judge": judge, "simulation": judge == "simulation" or self.backend_kind == "scripted"}

    def close(self) -> None:
        self.worker.close()
        for pool in (self.sessions, self.prove_sessions):
            if pool is not None:
                pool.close()
        if self.prover is not None:
            self.prover.close()

    # --- generation ---------------------------------------------------------------------------------
    def theorem(self, statement: str, header: str | None) -> Theorem:
        """The request's theorem, checked against the backend's guard options (see :func:`theorem_from`)."""
        return theorem_from(statement, header, self.guard_options)

    def request_for(self, goal: str, theorem: Theorem | None, path: Sequence[str]) -> GenerationRequest:
        """The generator request for an editor goal; :class:`BadInput` for empty or over-long goals."""
        from prover.generation.inputs import GenerationInputError, check_requests

        context: dict[str, Any] = {"path": tuple(path)}
        if theorem is not None:
            context.update(theorem_name=theorem.name, statement=theorem.statement, header=theorem.header)
        request = GenerationRequest.from_text(goal, **context)
        try:
            check_requests([request], self.max_state_chars)
        except GenerationInputError as exc:
            raise BadInput(re.sub(r"^(request|state) #0", "the goal", str(exc))) from None
        return request

    def guard_refusals(self, tactic: str) -> list[str]:
        return list(self.tactic_guard(tactic))

    def unchecked(
        self, suggestions: Sequence[Suggestion], message: str | None = None
    ) -> list[CheckedSuggestion]:
        """Suggestions not run in Lean: the guard's verdict still marks the ones it refuses."""
        out = []
        for s in suggestions:
            refused = self.guard_refusals(s.tactic)
            if refused:
                out.append(CheckedSuggestion(s.tactic, s.logprob, "refused", "; ".join(refused)))
            else:
                out.append(CheckedSuggestion(s.tactic, s.logprob, "unchecked", message))
        return out

    # --- running suggestions (on a worker thread, holding a session) ---------------------------------
    def run_suggestions(
        self,
        session: Any,
        theorem: Theorem,
        path: Sequence[str],
        goal: Sequence[str],
        suggestions: Sequence[Suggestion],
        cancelled: threading.Event,
    ) -> tuple[list[CheckedSuggestion], list[str] | None, str | None]:
        """Start ``theorem``, replay ``path``, run every suggestion there (guarded by the session).

        Returns the rows, the goals they were run on, and a warning when that state is not ``goal``.
        """
        root = session.start(theorem)
        if not isinstance(root, TacticState):
            why = describe_result("", 0.0, root).message or type(root).__name__
            return self.unchecked(suggestions, f"the theorem did not start in Lean: {why}"), None, None
        state: TacticState = root
        for i, tactic in enumerate(path):
            if cancelled.is_set():
                raise Cancelled("the request was cancelled")
            result = session.run_tactic(state, tactic)
            if not isinstance(result, TacticState):
                row = describe_result(tactic, 0.0, result)
                detail = row.message or ("it closed the proof" if row.status == "closes_goal" else row.status)
                return (
                    self.unchecked(
                        suggestions, f"path tactic #{i + 1} `{_one_line(tactic)}` failed: {detail}"
                    ),
                    None,
                    None,
                )
            state = result
        if cancelled.is_set():
            raise Cancelled("the request was cancelled")
        results = session.run_tactics([(state, s.tactic) for s in suggestions])
        rows = [describe_result(s.tactic, s.logprob, r) for s, r in zip(suggestions, results, strict=True)]
        warning = None
        if not _leads_with(state.goals, goal):
            warning = (
                "the goal sent is not the theorem's state after `path`; suggestions were run on checked_goals"
            )
        return rows, list(state.goals), warning

    # --- checking a proof ------------------------------------------------------------------------------
    def verify(self, session: Any, theorem: Theorem, proof: str) -> dict[str, Any]:
        """The judge's verdict (guard, compile, statement, axioms): the front door's judge, the one that decides
        /prove too; ``session.verify`` only for a service built without one."""
        verdict = (
            self.prover.judge(theorem, proof) if self.prover is not None else session.verify(theorem, proof)
        )
        return {
            "accepted": verdict.accepted,
            "status": "accepted" if verdict.accepted else "rejected",
            "reasons": list(verdict.reasons),
            "mode": self.check_mode,
            "check": verdict.check or None,
            **self.judge_fields,
        }

    # --- premises and embeddings ----------------------------------------------------------------------
    def premises(self, goal: str, k: int) -> list[dict[str, Any]]:
        if self.retriever is None:
            raise BadInput("no premise index is configured (start with retriever.index_path=DIR)")
        with self._retrieval_lock:
            hits = self.retriever.retrieve(goal, k)
        return [
            {"full_name": p.full_name, "code": p.code, "path": p.path or p.module, "score": float(score)}
            for p, score in hits
        ]

    @property
    def encoder_loaded(self) -> bool:
        return self._encoder is not None or getattr(self.retriever, "encoder", None) is not None

    def encode(self, text: str) -> list[float]:
        with self._retrieval_lock:
            if self._encoder is None:
                encoder = getattr(self.retriever, "encoder", None)
                if encoder is None and self._encoder_loader is not None:
                    encoder = self._encoder_loader()
                if encoder is None:
                    raise BadInput("no encoder is configured")
                self._encoder = encoder
            vector = self._encoder.encode([text])[0]
        return [float(x) for x in vector]

    # --- formal problem solving -------------------------------------------------------------------
    def solver_available(self) -> bool:
        """The FPS solver (``prover.fps``) with its settings, and a Lean backend to run it on."""
        return self.solver_settings is not None and self.has_lean

    def fps_problem(self, obj: dict[str, Any]) -> Any:
        return fps_problem(obj, self.guard_options)

    def fps_problem_from_statement(
        self, statement: str, header: str | None, formal_answer: str | None
    ) -> tuple[Any, bool]:
        return fps_problem_from_statement(statement, header, formal_answer, self.guard_options)

    def solve(
        self,
        session: Any,
        problem: Any,
        max_expansions: int | None,
        time_limit_s: float,
        cancel: threading.Event,
        ground_truth: bool = True,
    ) -> dict[str, Any]:
        """Search for an answer and its proof, then the FPS final check (compile, verify, RPE): one record.

        Without ``ground_truth`` (the editor form) the check stops after the verified proof: status
        ``answered`` (answer found and proved, not compared), never ``solved``/``ne_submitted``.
        """
        from prover.fps.check import FpsChecker
        from prover.fps.solver import solve_problem
        from prover.search.factory import make_searcher
        from prover.serve.jobs import QueuedGenerator

        searcher = make_searcher(self.search_within(max_expansions, time_limit_s))
        generator = QueuedGenerator(self.worker, cancel)
        settings = self.solver_settings
        if not ground_truth:
            settings = settings.model_copy(update={"preflight_formal_answers": False})
        # the proof of the answer is judged by the front door's judge, like every /prove and /check proof
        judge = self.prover.judge if self.prover is not None else None
        rpe_judge = self.prover.command_judge if self.prover is not None else None
        checker = FpsChecker(session, settings, compare_answer=ground_truth, judge=judge, rpe_judge=rpe_judge)
        # the Proven / D-FPS backward attempts go through the front door too, within this request's limits
        prover = (
            _RequestProver(self.prover, self.search, generator, max_expansions, time_limit_s)
            if self.prover is not None
            else None
        )
        record = solve_problem(session, problem, searcher, generator, checker, prover=prover)
        if cancel.is_set():
            raise Cancelled("the request was cancelled")
        out = record.to_json()
        if not ground_truth:
            out["ground_truth"] = ""
        return out

    def version(self) -> dict[str, str]:
        return {
            "version": __version__,
            "backend": self.backend_name,
            "generator": self.generator_name,
            "lean": self.lean_version,
        }


def fps_problem(obj: dict[str, Any], guard_options: dict[str, Any] | None = None) -> Any:
    """An FPS problem (the benchmark files' fields); :class:`BadInput` naming the field, also when a text
    that goes into a Lean command would do more than a term (``prover.serve.context.fps_refusals``)."""
    from prover.fps.problem import problem_from_json, problem_id
    from prover.serve.context import fps_refusals

    required = ("outros", "formal_answer", "formal_answer_type")
    if not any(key in obj for key in required):
        got = ", ".join(sorted(obj)[:6]) or "no fields"
        raise BadInput(
            "problem: expected an FPS problem (informal_problem, header, intros, outros, formal_answer, "
            f"formal_answer_type, as in the FPS benchmark files), got {got}"
        )
    try:
        problem = problem_from_json(obj, problem_id(obj, "serve", 1), source="serve")
    except ValueError as exc:
        raise BadInput(f"problem.{exc}") from None
    refusals = fps_refusals(problem, guard_options)
    if refusals:
        raise BadInput("; ".join(refusals[:3]))
    return problem


def fps_problem_from_statement(
    statement: str,
    header: str | None,
    formal_answer: str | None,
    guard_options: dict[str, Any] | None = None,
) -> tuple[Any, bool]:
    """The editor form of /solve: ``(problem, has_ground_truth)`` from a Lean statement of FPS shape.

    ``theorem NAME <binders> : ∃ (answer : T), ∀ (h : P), … , <conclusion>``: the binders become the
    intros, ``T`` the answer type, the ``∀`` hypotheses and the conclusion the outros (so the solver's FPS
    statement is the one written, up to layout). ``fps_NAME`` keeps its name. Without ``formal_answer``
    (an editor user rarely has the ground truth) a placeholder stands in and RPE is not run.
    """
    from prover.lean.lexer import LexError
    from prover.lean.statement import split_declaration

    try:
        parts = split_declaration(statement.strip())
    except (LexError, ValueError) as exc:
        raise BadInput(f"statement: cannot read it: {exc}") from None
    shape = "theorem NAME <binders> : ∃ (answer : T), <conclusion>"
    try:
        intros = _binder_groups(parts.binders)
        answer_binders, body = _leading_quantifier(parts.type, "∃")
    except ValueError as exc:
        raise BadInput(f"statement: {exc}; expected {shape}") from None
    if len(answer_binders) != 1 or answer_binders[0][0] != ["answer"]:
        raise BadInput(f"statement: its type must start with ∃ (answer : T); expected {shape}")
    outros: list[dict[str, Any]] = []
    while True:
        try:
            hyps, rest = _leading_quantifier(body, "∀")
        except ValueError:
            break
        outros += [{"t": t, "name": n} for names, t in hyps for n in names]
        body = rest
    outros.append({"t": _unparen(body), "name": "h_answer"})
    name = parts.name or "editor"
    obj = {
        "metainfo": {"problem_name": name[4:] if name.startswith("fps_") and len(name) > 4 else name},
        "header": _fps_header(header or "", guard_options),
        "intros": [{"t": t, "name": n} for names, t in intros for n in names],
        "outros": outros,
        "formal_answer": formal_answer if formal_answer and formal_answer.strip() else "True",
        "formal_answer_type": answer_binders[0][1],
    }
    return fps_problem(obj, guard_options), bool(formal_answer and formal_answer.strip())


def _fps_header(header: str, guard_options: dict[str, Any] | None) -> str | None:
    """The editor's text above the statement as an FPS problem header: its header commands only (earlier
    declarations dropped, as for /prove), without ``import`` lines (the FPS builder adds ``import Mathlib``)."""
    from prover.serve.context import clean_header

    kept, reasons, _dropped = clean_header(header, guard_options)
    if reasons:
        raise BadInput("; ".join(reasons[:3]))
    return _open_lines(kept)


def _binder_groups(text: str) -> list[tuple[list[str], str]]:
    """``(a b : T) (h : P)`` as ``[(["a", "b"], "T"), (["h"], "P")]``; only explicit ``( … : … )`` binders."""
    from prover.lean.lexer import bracket_delta, code_tokens

    groups: list[tuple[list[str], str]] = []
    depth, start = 0, -1
    for tok in code_tokens(text):
        delta = bracket_delta(tok)
        if depth == 0 and delta == 0:
            raise ValueError(f"unexpected {tok.text!r} among the binders")
        if depth == 0 and delta > 0:
            if tok.text != "(":
                raise ValueError(f"only ( name : type ) binders are supported, got {tok.text!r}")
            start = tok.end
        depth += delta
        if depth == 0 and delta < 0:
            groups.append(_one_binder(text[start : tok.start]))
    if depth != 0:
        raise ValueError("unbalanced brackets among the binders")
    return groups


def _one_binder(inner: str) -> tuple[list[str], str]:
    from prover.lean.lexer import bracket_delta, code_tokens

    depth = 0
    for tok in code_tokens(inner):
        depth += bracket_delta(tok)
        if depth == 0 and tok.kind == "symbol" and tok.text == ":":
            names = inner[: tok.start].split()
            if not names or any(not n.replace("_", "a").replace("'", "a").isalnum() for n in names):
                break
            return names, inner[tok.end :].strip()
    raise ValueError(f"cannot read the binder ({inner.strip()})")


def _leading_quantifier(text: str, symbol: str) -> tuple[list[tuple[list[str], str]], str]:
    """``∃ (x : T), rest`` (or ``∀``) as ``(binders, rest)``; ValueError when ``text`` does not start so."""
    from prover.lean.lexer import bracket_delta, code_tokens

    body = _unparen(text)
    if not body.startswith(symbol):
        raise ValueError(f"no leading {symbol}")
    depth = 0
    for tok in code_tokens(body):
        depth += bracket_delta(tok)
        if depth == 0 and tok.kind == "symbol" and tok.text == ",":
            return _binder_groups(body[len(symbol) : tok.start]), body[tok.end :].strip()
    raise ValueError(f"no comma after {symbol}")


def _unparen(text: str) -> str:
    """``text`` without one pair of parentheses around all of it (the FPS builder adds its own)."""
    from prover.lean.lexer import bracket_delta, code_tokens

    body = text.strip()
    if body.startswith("(") and body.endswith(")"):
        toks = code_tokens(body)
        depth = 0
        for i, tok in enumerate(toks):
            depth += bracket_delta(tok)
            if depth == 0:
                return body[1:-1].strip() if i == len(toks) - 1 else body
    return body


def _open_lines(header: str) -> str | None:
    """The header's lines other than ``import`` ones (the FPS statement builder adds ``import Mathlib``)."""
    kept = [line for line in header.splitlines() if line.strip() and not line.lstrip().startswith("import ")]
    return "\n".join(kept) or None


class _RequestProver:
    """The front door as one /solve request sees it: every attempt within the request's limits (the tighter of
    the request's and the solver's own budget) and on the request's queued, cancellable generator."""

    def __init__(
        self,
        prover: TheoremProver,
        search: SearchSettings,
        generator: Any,
        max_expansions: int | None,
        time_limit_s: float,
    ) -> None:
        self.prover, self.search, self.generator = prover, search, generator
        self.max_expansions, self.time_limit_s = max_expansions, time_limit_s

    def attempt(self, theorem: Theorem, budget: Budget | None = None, *, session: Any = None) -> Attempt:
        limits = budget.overrides() if budget is not None else {}
        limits["time_limit_s"] = min(self.time_limit_s, limits.get("time_limit_s", self.time_limit_s))
        if self.max_expansions is not None:
            limits["max_expansions"] = min(
                self.max_expansions, limits.get("max_expansions", self.max_expansions)
            )
        fitted = Budget.fitting(self.search, **limits)
        return self.prover.attempt(theorem, fitted, session=session, generator=self.generator)

    def judge(self, theorem: Theorem, proof: str, *, definition_names: Sequence[str] = ()) -> Any:
        return self.prover.judge(theorem, proof, definition_names=definition_names)
