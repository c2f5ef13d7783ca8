"""Synthesis benchmarks: MUSTARD samples per minute (fake endpoint), Alchemy probes per second (scripted world).

``mustard``:
The endpoint answers instantly with canned text, so the figure is the synthesiser's own overhead: HTTP client,
prompt building, parsing, the Lean checks through an in-process scripted world, the repair round and the
durable JSONL append. ``--mix`` adds a broken proof (one repair round) and a cheating one (all rounds) per four
samples. The run is a real ``MustardRun`` (preflight, run directory, executor): ``--workers N > 1`` writes samples
in N worker processes, each with its own session, so ``--check-delay-ms`` (every scripted tactic, hence every
Lean check, takes that long) shows the Lean part scaling too. The time includes the worker processes' start-up.

    .venv/bin/python -m bench.bench_synth --num 200 --workers 1 [--check-delay-ms 20]

``alchemy``: one target, ``--rules`` rules (every one passes the pre-filter), each ``rw`` probe a scripted tactic of
``--delay-ms``; a quarter of the rules rewrite the conclusion into a verifiable variant. The world runs as real
subprocesses behind ``ReplSession`` (the REPL client, protocol and pool), ``--pool`` of them: probes per second and
verified variants per target.

    .venv/bin/python -m bench.bench_synth --alchemy --rules 200 --delay-ms 20 --pool 1

``alchemy --prefilter``: the symbol pre-filter's savings (probes against probing every rule), no Lean involved.
Targets: the root goals of the real search steps in ``../shared/data/tactics`` rebuilt as statements; rules: every
real typed Lean statement offline (miniF2F + FormalMATH-Lite, ``../shared``), and the self-written Mathlib-style
premise sample ``tests/data/serve/premises_bm25/corpus.jsonl``, each reported on its own.

    .venv/bin/python -m bench.bench_synth --alchemy --prefilter
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from prover.synthesis.fake_endpoint import FakeEndpoint
    from prover.synthesis.mustard import MustardRun
    from prover.synthesis.settings import LLMSettings, MustardSettings

    sys_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sys_args.add_argument("--num", type=int, default=200)
    sys_args.add_argument("--workers", type=int, default=1)
    sys_args.add_argument("--mix", action="store_true", help="1 in 4 broken (repaired), 1 in 4 cheating")
    sys_args.add_argument(
        "--check-delay-ms", type=int, default=0, help="mustard: ms per scripted Lean tactic"
    )
    sys_args.add_argument("--alchemy", action="store_true", help="the Alchemy probe benchmark instead")
    sys_args.add_argument("--rules", type=int, default=200)
    sys_args.add_argument("--delay-ms", type=int, default=20)
    sys_args.add_argument("--pool", type=int, default=1)
    sys_args.add_argument("--prefilter", action="store_true", help="with --alchemy: the pre-filter's savings")
    args = sys_args.parse_args(argv)
    if args.alchemy and args.prefilter:
        return alchemy_prefilter()
    if args.alchemy:
        return alchemy(args.rules, args.delay_ms, args.pool)

    import tests.test_synth_mustard as canned  # the canned answers of the tests: one source of truth

    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib.json"
        concepts = ["Bezout's identity", "Cauchy-Schwarz inequality", "perfect numbers", "null sets"]
        if not args.mix:
            concepts = concepts[:1]
        lib.write_text(json.dumps({"levels": {"higher education": {"D": concepts}}}), encoding="utf-8")
        world = json.loads(canned.WORLD.read_text(encoding="utf-8"))
        world["default_delay_ms"] = args.check_delay_ms
        world_file = Path(tmp) / "world.json"
        world_file.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
        backend = {"name": "scripted", "world": str(world_file), "in_process": True, "tactic_timeout_s": 60.0}
        with FakeEndpoint(canned.RULES) as ep:
            settings = MustardSettings(
                concepts=str(lib), k=1, num=args.num, workers=args.workers,
                llm=LLMSettings(model="fake", base_url=ep.base_url, retries=0),
            )  # fmt: skip
            with MustardRun.prepare(settings, backend, Path(tmp) / "run", command=[]) as run:
                stamps: list[float] = []
                t0 = time.perf_counter()
                summary = run.execute(on_record=lambda _: stamps.append(time.perf_counter()))
                elapsed = time.perf_counter() - t0
            calls = len(ep.requests)
        lean_s = sum(r["timings"]["lean_s"] for r in summary.records)
    verdicts: dict[str, int] = {}
    for r in summary.records:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    print(
        json.dumps(
            {
                "samples": summary.written,
                "workers": args.workers,
                "mix": args.mix,
                "check_delay_ms": args.check_delay_ms,
                "model_calls": calls,
                "lean_s_per_sample": round(lean_s / max(1, summary.written), 4),
                "seconds": round(elapsed, 2),
                "samples_per_minute": round(60 * summary.written / elapsed, 1),
                "ms_per_sample": round(1000 * elapsed / max(1, summary.written), 2),
                # start-up (worker processes, sessions) until the first sample, then the steady rate after it
                "first_sample_s": round(stamps[0] - t0, 2) if stamps else None,
                "steady_samples_per_minute": round(60 * (len(stamps) - 1) / (stamps[-1] - stamps[0]), 1)
                if len(stamps) > 1 and stamps[-1] > stamps[0]
                else None,
                "verdicts": verdicts,
            }
        )
    )
    return 0


def alchemy_world(n_rules: int, delay_ms: int) -> tuple[dict, object, list]:
    """A target ``x + 0 = x`` style world where rule ``R{i}`` rewrites the conclusion for every fourth ``i``."""
    from prover.synthesis.alchemy import Rule, Target

    root = "x : ℕ\nh : 0 < x\n⊢ x + 0 = x"
    target = Target("tb", "theorem tb (x : ℕ) (h : 0 < x) : x + 0 = x", "simp")
    theorems = [{"name": "tb", "statement": target.statement, "goals": [root]}]
    goals: dict = {root: {}}
    rules = []
    for i in range(n_rules):
        rules.append(Rule(f"R{i}", "∀ (n : ℕ), n + 0 = n"))
        if i % 4:
            continue
        new = f"x : ℕ\nh : 0 < x\n⊢ x + {i + 1} = x + {i + 1}"
        name = f"tb_alchemy_{i // 4 + 1}"
        goals[root][f"rw [R{i}]"] = {"goals": [new], "delay_ms": delay_ms}
        theorems.append({"name": name, "statement": f"theorem {name} (x : ℕ) (h : 0 < x) : x + {i + 1} = x + {i + 1}",
                         "goals": [new]})  # fmt: skip
        have = new.replace("⊢", "h_old : x + 0 = x\n⊢")
        goals[new] = {"have h_old : x + 0 = x := by\n  simp": {"goals": [have]}}
        goals[have] = {f"rw [R{i}] at h_old": {"goals": [have.replace("h_old : x + 0 = x", "h_old : done")]}}
        goals[have.replace("h_old : x + 0 = x", "h_old : done")] = {"exact h_old": {"goals": []}}
    return {"theorems": theorems, "goals": goals, "default_delay_ms": delay_ms}, target, rules


def alchemy(n_rules: int, delay_ms: int, pool: int) -> int:
    from prover.lean.factory import make_session
    from prover.synthesis.alchemy import AlchemyCounts, mutate

    world, target, rules = alchemy_world(n_rules, delay_ms)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.json"
        path.write_text(json.dumps(world), encoding="utf-8")
        with make_session({"name": "scripted", "world": str(path), "pool_size": pool}) as session:
            session.start(target)  # start-up of the pool's processes is not a probe
            counts = AlchemyCounts()
            t0 = time.perf_counter()
            variants = mutate(session, target, rules, counts, pairs=False)  # probes and verification only
            elapsed = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rules": n_rules,
                "pool": pool,
                "delay_ms": delay_ms,
                "probes": counts.probes,
                "seconds": round(elapsed, 2),
                "probes_per_second": round(counts.probes / elapsed, 1),
                "verified_variants": sum(v["verified"] for v in variants),
            }
        )
    )
    return 0


SHARED = REPO.parent / "shared" / "data"


def _real_rules() -> list:
    """Every typed Lean statement in ``../shared``: miniF2F (``formal_statement``) and FormalMATH-Lite (the
    theorem of each ``autoformalization`` file), as ``Rule(name, ∀ binders, type)``."""
    from prover.lean.source import split_commands
    from prover.lean.statement import split_statement, statement_as_type
    from prover.lean.types import Theorem
    from prover.synthesis.alchemy import Rule

    rules = []
    path = SHARED / "minif2f" / "minif2f-lean4-v4.24.0.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        stmt = Theorem.from_formal_statement(obj["name"], obj["formal_statement"]).statement
        rules.append(Rule(obj["name"], statement_as_type(split_statement(stmt))))
    for i, obj in enumerate(
        json.loads((SHARED / "formalmath" / "FormalMATH-Lite.json").read_text(encoding="utf-8"))
    ):
        _, commands = split_commands(obj["autoformalization"])
        for cmd in commands:
            if cmd.is_theorem:
                decl = cmd.declaration.rstrip().removesuffix("by").rstrip().removesuffix(":=").rstrip()
                with contextlib.suppress(ValueError):  # a statement our splitter cannot read is left out
                    rules.append(Rule(f"formalmath_{i}", statement_as_type(split_statement(decl))))
                break
    return rules


def _real_targets() -> list:
    """The root goal of every problem of the real search steps, as (Target, root state), when it round-trips."""
    from prover.lean.goal_statement import statement_from_goal
    from prover.lean.types import TacticState, Theorem
    from prover.synthesis.alchemy import Target

    out, seen = [], set()
    path = SHARED / "tactics" / "fps-search-proof-steps.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        step = json.loads(line)
        if step["step"] != 0 or len(step["goals"]) != 1 or step["source"] in seen:
            continue
        seen.add(step["source"])
        res = statement_from_goal(step["goals"][0], f"p{len(out)}")
        if res.ok:
            target = Target(f"p{len(out)}", res.statement, "sorry")
            out.append((target, TacticState((step["goals"][0],), Theorem(target.name, res.statement))))
    return out


def alchemy_prefilter() -> int:
    from prover.synthesis.alchemy import SymbolIndex, load_rules, probes_for

    if not SHARED.is_dir():
        print(json.dumps({"error": f"{SHARED} is absent: no real targets to measure on"}))
        return 1
    targets = _real_targets()
    corpora = {
        "real typed statements (miniF2F + FormalMATH-Lite)": _real_rules(),
        "self-written Mathlib-style sample (tests/data/serve/premises_bm25)": load_rules(
            REPO / "tests/data/serve/premises_bm25/corpus.jsonl"
        ),
    }
    for label, rules in corpora.items():
        t0 = time.perf_counter()
        index = SymbolIndex(rules)
        probes = probes_all = candidates = 0
        for target, root in targets:
            kept = index.candidates(target)
            per_rule = len(probes_for(root, rules[:1]))
            candidates += len(kept)
            probes += per_rule * len(kept)
            probes_all += per_rule * len(rules)
        elapsed = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "rules": label,
                    "rules_in_corpus": len(rules),
                    "targets": len(targets),
                    "candidates_per_target": round(candidates / len(targets), 1),
                    "probes_all": probes_all,
                    "probes": probes,
                    "probes_saved_pct": round(100 * (1 - probes / probes_all), 1),
                    "filter_ms_per_target": round(1000 * elapsed / len(targets), 2),
                },
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
