"""MUSTARD for Lean 4: concepts → model → problem, informal proof, formal statement and proof → Lean → repair.

``MustardWriter.write(i)`` makes sample ``i`` end to end and returns its record (one JSON line). ``MustardRun``
is the run lifecycle (preflight of the model and of Lean before anything is written, the locked run directory,
``run.json``, resume, ``retry_errors``) and runs the samples on the evaluation executors: ``workers: 1`` in this
process, ``N > 1`` in N worker processes that each build their own model client and Lean session
(:func:`build_worker`), so Lean checks of different samples run in parallel. ``run_mustard`` runs an already
built writer in this process (tests, library use).

Anything a model *says* — unparsable, unsound, wrong — is a result; a sample whose model call or worker failed
(endpoint down, crash) is an ``error`` record that ``retry_errors`` writes again, and ``stop_after_errors`` of
them in a row stop the run (:class:`MustardStopped`); finished samples are always kept.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.evaluation.runner import SetupError
from prover.evaluation.versions import session_versions
from prover.lean.session import LeanSession
from prover.lean.types import TacticState, Theorem
from prover.synthesis.check import BASE_HEADER, Checker, CheckResult
from prover.synthesis.concepts import ConceptLibrary
from prover.synthesis.errors import SynthesisError
from prover.synthesis.llm import ChatModel
from prover.synthesis.prompts import (
    FORMAL,
    SECTIONS,
    all_in_one,
    parse_sections,
    repair_messages,
    step_request,
)
from prover.synthesis.run_progress import SynthProgress
from prover.synthesis.settings import MustardSettings
from prover.synthesis.store import ERROR, SampleStore

#: verdicts, best first (``error``: no verdict, the model or the worker failed; ``retry_errors`` reruns it)
VERDICTS = ("verified", "proof_rejected", "statement_error", "unparsable", ERROR)


@dataclass
class _Clock:
    llm_s: float = 0.0
    lean_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def timings(self) -> dict[str, float]:
        total = time.perf_counter() - self.started
        return {"llm_s": round(self.llm_s, 4), "lean_s": round(self.lean_s, 4), "total_s": round(total, 4)}


class MustardWriter:
    def __init__(
        self,
        settings: MustardSettings,
        library: ConceptLibrary,
        model: ChatModel,
        session: LeanSession,
        versions: Mapping[str, Any] | None = None,
        judge: Any = None,
    ) -> None:
        self.settings = settings
        self.library = library
        self.model = model
        self.session = session
        decide = judge.judge if judge is not None else None  # a prover.lean.judge.Judge decides "verified"
        self.checker = Checker(session, settings.trivial_tactics, settings.contradiction_tactics, decide)
        # a run passes what ``run_versions`` found once; a bare writer asks its session
        self.versions = dict(versions) if versions is not None else session_versions(session)

    def _chat(self, clock: _Clock, messages: list[dict[str, str]]) -> str:
        t0 = time.perf_counter()
        try:
            return self.model.chat(messages)
        finally:
            clock.llm_s += time.perf_counter() - t0

    def _check(
        self, clock: _Clock, round_: int, statement: str | None, proof: str | None
    ) -> tuple[CheckResult, dict[str, Any]]:
        started, t0 = time.time(), time.perf_counter()
        result = self.checker.check(statement, proof)
        spent = time.perf_counter() - t0
        clock.lean_s += spent
        attempt = _attempt(round_, statement, proof, result)
        attempt.update(checked_at=round(started, 4), check_s=round(spent, 4))
        return result, attempt

    def write(self, index: int) -> dict[str, Any]:
        s = self.settings
        draw = draw_for(s, self.library, index)
        clock = _Clock()
        record = _record_head(index, s, draw, self.model.name, self.versions)
        sections, raw = self._first_answer(clock, draw)
        problem, informal = sections.get("problem"), sections.get("informal proof")
        record.update(problem=problem, informal_proof=informal)
        if not problem or not informal:
            missing = [n for n in ("problem", "informal proof") if not sections.get(n)]
            record.update(
                formal_statement=sections.get("formal statement"),
                formal_proof=sections.get("formal proof"),
                verdict="unparsable",
                reasons=[f"the answer has no {' and no '.join(missing)} section"],
                labels=[],
                attempts=[],
                raw_answer=raw[:4000],
                timings=clock.timings(),
                finished_at=time.time(),
            )
            return record
        attempts: list[dict[str, Any]] = []
        statement, proof = sections.get("formal statement"), sections.get("formal proof")
        result, attempt = self._check(clock, 0, statement, proof)
        attempts.append(attempt)
        for round_ in range(1, s.repair_rounds + 1):
            if result.stage == "ok":
                break
            history = [(_code(a), a["messages"]) for a in attempts]
            answer = self._chat(clock, repair_messages(problem, informal, history))
            fixed = parse_sections(answer, FORMAL)
            statement, proof = fixed.get("formal statement"), fixed.get("formal proof")
            result, attempt = self._check(clock, round_, statement, proof)
            attempts.append(attempt)
        labels: list[str] = []
        if result.stage == "ok" and result.root is not None:
            t0 = time.perf_counter()
            labels = self.checker.degenerate_labels(result.root)
            clock.lean_s += time.perf_counter() - t0
        verdict = {"ok": "verified", "proof": "proof_rejected", "statement": "statement_error"}.get(
            result.stage, "unparsable"
        )
        # the last attempt's Lean code as checked (statement ``theorem … : T``, proof declaration, and the
        # header with its ``open`` lines); the model's text of every attempt is in ``attempts``
        record.update(
            formal_statement=result.theorem.statement if result.theorem else statement,
            formal_proof=result.proof or proof,
            verdict=verdict,
            reasons=list(result.messages),
            labels=labels,
            attempts=attempts,
            name=result.theorem.name if result.theorem else None,
            header=result.theorem.header if result.theorem else None,
            timings=clock.timings(),
            finished_at=time.time(),
        )
        return record

    def _first_answer(self, clock: _Clock, draw: Any) -> tuple[Any, str]:
        if self.settings.prompt_mode == "all":
            raw = self._chat(clock, all_in_one(draw))
            return parse_sections(raw), raw
        # step mode: each request sees every earlier answer, so the informal proof informs the formal part
        messages = [{"role": "system", "content": all_in_one(draw)[0]["content"]}]
        found: dict[str, str] = {}
        raws = []
        for step, wanted in enumerate((("problem",), ("informal proof",), FORMAL)):
            messages.append({"role": "user", "content": step_request(draw, step)})
            raw = self._chat(clock, messages)
            raws.append(raw)
            messages.append({"role": "assistant", "content": raw})
            parsed = parse_sections(raw, wanted)
            for name in wanted:
                text = parsed.get(name)
                if text is None and len(wanted) == 1 and raw.strip():
                    text = raw.strip()  # a bare answer to a one-section request is that section
                if text:
                    found[name] = text
            if step < 2 and wanted[0] not in found:
                break
        return _Found(found), "\n\n".join(raws)


@dataclass(frozen=True)
class _Found:
    sections: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.sections.get(name)


def _attempt(round_: int, statement: str | None, proof: str | None, result: CheckResult) -> dict[str, Any]:
    return {
        "round": round_,
        "formal_statement": statement,
        "formal_proof": proof,
        "stage": result.stage,
        "messages": list(result.messages),
    }


def _code(attempt: dict[str, Any]) -> str:
    """What the model sees of an earlier attempt: its proof (or, lacking one, its statement)."""
    return attempt["formal_proof"] or attempt["formal_statement"] or "(no Lean code in the answer)"


@dataclass
class MustardRunSummary:
    written: int
    skipped: int
    records: list[dict[str, Any]]
    #: sample ids whose error records ``retry_errors`` moved aside to be written again
    retried: list[Any] = field(default_factory=list)


class MustardStopped(SynthesisError, RuntimeError):
    """``stop_after_errors`` samples in a row failed (endpoint down, worker crash): the run stopped, finished
    samples are kept; one line says why and how to go on."""


def draw_for(settings: MustardSettings, library: ConceptLibrary, index: int) -> Any:
    """Sample ``index``'s concepts: seeded by (seed, index), so a resume or a retry draws the same ones."""
    rng = random.Random(f"{settings.seed}:{index}")
    s = settings
    return library.draw(rng, s.sampling, s.k, s.level, s.domain, s.fixed_concepts)


def _record_head(
    index: int, settings: MustardSettings, draw: Any, model: str, versions: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "id": index,
        "concepts": list(draw.concepts),
        "level": draw.level,
        "domain": draw.domain,
        "mode": draw.mode,
        "prompt_mode": settings.prompt_mode,
        "model": model,
        **versions,
    }


def error_record(
    index: int,
    settings: MustardSettings,
    library: ConceptLibrary,
    model: str,
    versions: Mapping[str, Any],
    message: str,
) -> dict[str, Any]:
    """The record of a sample that got no verdict: the model or the worker failed (``retry_errors`` reruns it)."""
    record = _record_head(index, settings, draw_for(settings, library, index), model, versions)
    record.update(verdict=ERROR, reasons=[message], labels=[], attempts=[], finished_at=time.time())
    return record


class MustardWorker:
    """One worker of a run (the evaluation executors' ``Worker``): ``run({"id": i})`` writes sample ``i``.

    ``owned`` are what this worker built and closes (its session and model client); a writer handed in by a
    caller stays the caller's.
    """

    def __init__(self, writer: MustardWriter, owned: Sequence[Any] = ()) -> None:
        self.writer = writer
        self._owned = list(owned)

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        return self.writer.write(int(job["id"]))

    def close(self) -> None:
        """Close what this worker built, once. A pool process that is told to die bounds this close itself
        (``prover.evaluation.executors._exit_worker``), so a close stuck on a REPL lock cannot orphan it."""
        owned, self._owned = self._owned, []
        for thing in owned:
            with contextlib.suppress(Exception):
                thing.close()


def build_worker(config: dict[str, Any]) -> MustardWorker:
    """The worker factory (``WorkerSpec("prover.synthesis.mustard:build_worker", config)``), run once in each
    worker process: ``config`` is ``{"synth": settings, "backend": backend config, "versions": {...}}``."""
    from prover.lean.factory import make_session, world_path
    from prover.lean.judge import make_judge
    from prover.synthesis.llm import make_chat_model

    settings = MustardSettings.model_validate(config["synth"])
    library = ConceptLibrary.load(world_path(settings.concepts))
    model = make_chat_model(settings.llm)
    session = judge = None
    try:
        session = make_session(config["backend"])
        judge = make_judge(config.get("verify"), config["backend"])
    except BaseException:
        for thing in (session, model):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        raise
    writer = MustardWriter(settings, library, model, session, config.get("versions"), judge)
    return MustardWorker(writer, owned=[session, judge, model])


WORKER_FACTORY = "prover.synthesis.mustard:build_worker"


def _execute(
    settings: MustardSettings,
    store: SampleStore,
    executor: Any,
    spec: Any,
    worker: MustardWorker | None,
    library: ConceptLibrary,
    model_name: str,
    versions: Mapping[str, Any],
    on_record: Callable[[dict[str, Any]], None] | None,
) -> int:
    """Run the samples not yet in ``store`` on ``executor``; this thread alone appends records."""
    pending = [i for i in range(settings.num) if i not in store.finished]
    jobs = ({"id": i} for i in pending)
    wanted = set(range(settings.num))
    earlier = [r for r in store.records if r.get(store.key) in wanted]
    tally = Counter(str(r.get("verdict")) for r in earlier)
    shown = SynthProgress("synth mustard", settings.num, "samples", done=len(earlier))
    shown.begin("write", f" ({settings.workers} worker{'s' * (settings.workers != 1)})")
    if getattr(executor, "accepts_worker", False):
        outcomes = executor.run(spec, jobs, worker)
    else:
        if worker is not None:  # the preflight's worker: the pool's processes build their own
            worker.close()
        outcomes = executor.run(spec, jobs)
    written = streak = 0
    try:
        for outcome in outcomes:
            if outcome.error is None and isinstance(outcome.result, dict):
                record = outcome.result
            else:
                why = outcome.error or f"the worker returned {type(outcome.result).__name__}, not a record"
                record = error_record(outcome.job["id"], settings, library, model_name, versions, why)
            store.append(record)
            written += 1
            tally[str(record.get("verdict"))] += 1
            shown.advance(_tally(tally))
            if on_record:
                on_record(record)
            streak = streak + 1 if record.get("verdict") == ERROR else 0
            if streak >= settings.stop_after_errors:
                raise MustardStopped(
                    f"{streak} samples in a row failed, the last with: {record['reasons'][0]}; finished "
                    f"samples are kept in {store.run_dir}: fix the cause, then run again with the same --out "
                    "and --retry-errors"
                )
    finally:
        outcomes.close()  # stops a process pool at once when the run ends early
    return written


def _tally(verdicts: Counter[str]) -> str:
    """``9 verified, 1 error`` for a progress line."""
    errors = verdicts.get(ERROR, 0)
    return f"{verdicts.get('verified', 0)} verified" + (
        f", {errors} error{'s' * (errors != 1)}" if errors else ""
    )


def run_mustard(
    settings: MustardSettings,
    writer: MustardWriter,
    run_dir: Path,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    *,
    retry_errors: bool = False,
) -> MustardRunSummary:
    """Write samples ``0 .. num-1`` not yet in ``run_dir`` with ``writer``, in this process (the writer's
    session and model stay the caller's); returns every record."""
    from prover.evaluation.executors import InlineExecutor, WorkerSpec

    with SampleStore(run_dir, settings.recorded(), retry_errors=retry_errors) as store:
        skipped = len([i for i in range(settings.num) if i in store.finished])
        written = _execute(
            settings,
            store,
            InlineExecutor(),
            WorkerSpec(WORKER_FACTORY, {}),
            MustardWorker(writer),
            writer.library,
            writer.model.name,
            writer.versions,
            on_record,
        )
        return MustardRunSummary(written, skipped, list(store.records), list(store.retried))


def worker_backend(backend: dict[str, Any], workers: int) -> dict[str, Any]:
    """The backend config each worker's session is built from: with ``workers > 1`` the configured REPL pool
    (``pool_size``, ``auto`` resolved) is shared out, at least one process each, so N workers do not start N
    whole pools (a sample's checks run one after another; each REPL process holds Mathlib in memory)."""
    if workers <= 1 or backend.get("name") not in ("repl", "scripted"):
        return backend
    from prover.lean.factory import load_backend_settings

    total = getattr(load_backend_settings(backend), "pool_size", None) or 1
    return {**backend, "pool_size": max(1, int(total) // workers)}


#: the statement the preflight elaborates: Lean and Mathlib load, a proof state opens
PREFLIGHT_THEOREM = Theorem("synth_preflight", "theorem synth_preflight : True", BASE_HEADER, "preflight")


@dataclass
class MustardRun:
    """A prepared MUSTARD run: preflight passed, run directory created or reopened, locked, ``run.json`` written.

    Usage (library)::

        run = MustardRun.prepare(settings, cfg.backend, Path("runs/m"))   # raises SetupError / RunLocked
        with run:
            summary = run.execute()
    """

    settings: MustardSettings
    library: ConceptLibrary
    backend: dict[str, Any]
    store: SampleStore
    worker: MustardWorker | None
    versions: dict[str, Any]
    model_name: str
    #: the judge's ``verify:`` config, handed to every worker process (None: the judge's defaults)
    verify: dict[str, Any] | None = None

    @property
    def run_dir(self) -> Path:
        return self.store.run_dir

    @classmethod
    def prepare(
        cls,
        settings: MustardSettings,
        backend_cfg: Any,
        run_dir: Path,
        *,
        retry_errors: bool = False,
        command: Sequence[str] | None = None,
        verify: Any = None,
    ) -> MustardRun:
        """Check the config, the model endpoint and Lean, then open ``run_dir``; nothing is written before
        every check passed. Raises :class:`SetupError` (``exit_code`` 2: config or input, 1: environment) or
        ``RunLocked`` (another process runs there). ``verify``: the ``verify:`` config of the judge that decides
        "verified" (``prover.lean.judge``; None: its defaults, ``judge: auto``)."""
        from prover.config import as_plain_dict
        from prover.errors import ConfigError
        from prover.evaluation.results import note_resume, package_version, write_run_meta
        from prover.evaluation.versions import run_versions
        from prover.lean.errors import LeanError
        from prover.lean.factory import LeanUnavailable, make_session, preflight, world_path
        from prover.lean.judge import make_judge
        from prover.synthesis.concepts import ConceptError
        from prover.synthesis.llm import LLMError, make_chat_model
        from prover.synthesis.store import SynthRunError

        try:
            backend = worker_backend(as_plain_dict(backend_cfg, "backend config"), settings.workers)
            library = ConceptLibrary.load(world_path(settings.concepts))
            # a bad level, domain or concept name fails here, before any model call
            draw_for(settings, library, 0)
        except (ConfigError, ConceptError, ValueError) as exc:
            raise SetupError(str(exc), 2) from None
        if run_dir.exists() and not run_dir.is_dir():
            raise SetupError(f"--out {run_dir} exists and is not a directory", 2)
        if run_dir.is_dir():  # a run directory in use is refused now, not after minutes of Lean preflight
            from prover.evaluation.run_dir import RunDirLock

            probe = RunDirLock(run_dir)
            probe.acquire()
            probe.release()
        scripted = backend.get("name") == "scripted"
        try:
            preflight(backend)
        except LeanUnavailable as exc:  # a scripted world is a file the user named: input, not environment
            raise SetupError(str(exc), 2 if scripted else 1) from None
        except (ConfigError, ValueError, TypeError) as exc:
            raise SetupError(str(exc).splitlines()[0], 2) from None
        model = session = judge = None
        try:
            try:
                model = make_chat_model(settings.llm)
                model.preflight()
            except LLMError as exc:
                raise SetupError(f"model: {exc}", exc.exit_code) from None
            try:
                session = make_session(backend)
            except (ConfigError, ValueError) as exc:
                raise SetupError(str(exc).splitlines()[0], 2) from None
            if backend.get("name") == "repl":
                root = session.start(PREFLIGHT_THEOREM)
                if not isinstance(root, TacticState):
                    why = "; ".join(getattr(root, "messages", ())) or str(getattr(root, "reason", root))
                    raise SetupError(
                        f"Lean cannot elaborate `{PREFLIGHT_THEOREM.statement}` on "
                        f"{BASE_HEADER.strip()!r}: {why}",
                        1,
                    )
            try:
                judge = make_judge(verify, backend)  # the one judge of "verified" (prover.lean.judge)
            except (ConfigError, LeanError) as exc:
                raise SetupError(str(exc).splitlines()[0], 2) from None
            # run.json and every record name the judge too (``simulation``: a scripted world judged itself)
            versions = run_versions(backend, session, judge.name)
            writer = MustardWriter(settings, library, model, session, versions, judge)
            worker = MustardWorker(writer, owned=[session, judge, model])
        except BaseException:
            for thing in (session, judge, model):
                if thing is not None:
                    with contextlib.suppress(Exception):
                        thing.close()
            raise
        try:
            store = SampleStore(run_dir, settings.recorded(), retry_errors=retry_errors)
        except SynthRunError as exc:
            worker.close()
            raise SetupError(str(exc), 2) from None
        except BaseException:
            worker.close()
            raise
        argv = list(command if command is not None else sys.argv)
        resumed = bool(store.records or store.retried)
        write_run_meta(
            run_dir,
            {
                "model": model.name,
                "package": package_version(),
                **versions,
                "settings": settings.recorded(),
                "backend_config": backend,
                "created": time.time(),
                "command": argv,
            },
        )
        if resumed:
            note_resume(run_dir, {"at": time.time(), "command": argv, "retried_errors": list(store.retried)})
        verify_cfg = as_plain_dict(verify, "verify config") if verify is not None else None
        return cls(settings, library, backend, store, worker, versions, model.name, verify_cfg)

    def execute(self, on_record: Callable[[dict[str, Any]], None] | None = None) -> MustardRunSummary:
        """Write every sample not yet written: in this process (``workers: 1``, the preflight's worker) or in
        ``workers`` processes of the evaluation executors' pool, each building its own session."""
        from prover.evaluation.executors import WorkerSpec, make_executor

        s = self.settings
        executor = make_executor({"name": "local", "workers": 0 if s.workers == 1 else s.workers})
        config = {
            "synth": s.model_dump(),
            "backend": self.backend,
            "versions": self.versions,
            "verify": self.verify,
        }
        skipped = len([i for i in range(s.num) if i in self.store.finished])
        worker, self.worker = self.worker, None
        written = _execute(
            s,
            self.store,
            executor,
            WorkerSpec(WORKER_FACTORY, config),
            worker,
            self.library,
            self.model_name,
            self.versions,
            on_record,
        )
        return MustardRunSummary(written, skipped, list(self.store.records), list(self.store.retried))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        self.store.close()

    def __enter__(self) -> MustardRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "MustardWriter",
    "MustardWorker",
    "MustardRun",
    "MustardStopped",
    "build_worker",
    "error_record",
    "run_mustard",
    "MustardRunSummary",
    "SECTIONS",
    "VERDICTS",
]
