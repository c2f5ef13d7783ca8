"""The synthesis run directory: ``settings.json`` (what is run), ``run.json`` (versions), ``samples.jsonl``.

Same rules as ``prover prove`` runs (and the same lock, ``prover.evaluation.run_dir.RunDirLock``): one line per
finished sample, fsync'ed before the next; a torn last line is cut when the run resumes; a finished sample id is
never written twice; one process at a time; a resumed run must ask for the same samples. ``retry_errors`` moves
the samples whose record is an error (``verdict: error``: endpoint down, worker crash) to
``errors-retried.jsonl`` (the name ``prover prove --retry-errors`` uses), so they are written again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from prover.evaluation.run_dir import RETRIED, RunDirLock
from prover.jsonl import BadLine, json_object_lines
from prover.synthesis.errors import SynthesisError

SAMPLES = "samples.jsonl"
SETTINGS = "settings.json"
#: settings that change how, not what, is synthesised: a resume may change them
RESUME_SAFE = ("num", "workers", "stop_after_errors")
#: ``llm`` keys that say where and how the model is reached, not which model writes: a resume may change them
LLM_RESUME_SAFE = ("base_url", "api_key_env", "timeout_s", "retries", "device")
ERROR = "error"


class SynthRunError(SynthesisError, RuntimeError):
    """The run directory cannot be used (another config, corrupt lines); one line says why."""


class SampleStore:
    """Append-only ``file`` (``samples.jsonl``) keyed by ``key`` (the sample ``id``; Alchemy: the ``target``)."""

    def __init__(
        self,
        run_dir: Path,
        settings: dict[str, Any],
        key: str = "id",
        file: str = SAMPLES,
        *,
        retry_errors: bool = False,
    ) -> None:
        if run_dir.exists() and not run_dir.is_dir():
            raise SynthRunError(f"--out {run_dir} exists and is not a directory")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SynthRunError(f"cannot create the run directory {run_dir}: {exc.strerror or exc}") from None
        self.run_dir = run_dir
        self.key = key
        self.lock = RunDirLock(run_dir)
        self.lock.acquire()
        try:
            self._check_settings(settings)
            self.path = run_dir / file
            self.records = self._read()
            self.retried = self._drop_errors() if retry_errors else []
        except BaseException:
            self.lock.release()
            raise
        self.finished = {r[key] for r in self.records}
        self._fh = self.path.open("a", encoding="utf-8")

    def _check_settings(self, settings: dict[str, Any]) -> None:
        path = self.run_dir / SETTINGS
        if path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise SynthRunError(f"{path} is corrupt; this run cannot be resumed") from None
            differ = sorted(
                k
                for k in set(saved) | set(settings)
                if k not in RESUME_SAFE and _what(k, saved.get(k)) != _what(k, settings.get(k))
            )
            if differ:
                raise SynthRunError(
                    f"{self.run_dir} was started with other settings ({', '.join(differ)}); use a new --out"
                )
        tmp = path.with_name(SETTINGS + ".tmp")
        tmp.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # a torn last line: the sample is written again
            with self.path.open("r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)
                os.fsync(fh.fileno())
        records = []
        for where, obj in json_object_lines(self.path):
            if isinstance(obj, BadLine) or not isinstance(obj.get(self.key), int | str):
                what = obj.describe() if isinstance(obj, BadLine) else f"{where}: no '{self.key}'"
                raise SynthRunError(f"corrupt sample line: {what}")
            records.append(obj)
        return records

    def _drop_errors(self) -> list[Any]:
        """Move error records to ``errors-retried.jsonl`` (appended, fsync'ed, before ``samples.jsonl`` is
        rewritten atomically without them); returns their keys."""
        errors = [r for r in self.records if r.get("verdict") == ERROR]
        if not errors:
            return []
        keep = [r for r in self.records if r.get("verdict") != ERROR]
        with (self.run_dir / RETRIED).open("a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in errors))
            fh.flush()
            os.fsync(fh.fileno())
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        self.records = keep
        return [r[self.key] for r in errors]

    def append(self, record: dict[str, Any]) -> None:
        if record[self.key] in self.finished:
            return
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records.append(record)
        self.finished.add(record[self.key])

    def close(self) -> None:
        self._fh.close()
        self.lock.release()

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _what(key: str, value: Any) -> Any:
    """The part of a setting that decides what is synthesised (``llm``: all but where the model is reached)."""
    if key == "llm" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in LLM_RESUME_SAFE}
    return value
