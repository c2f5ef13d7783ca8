"""Synthesis benchmarks: MUSTARD samples per minute (fake endpoint), Alchemy probes per second (scripted world).

``mustard``:
The endpoint answers instantly with canned text, so the figure is the synthesiser's own overhead: HTTP client,
prompt building, parsing, the Lean checks through an in-process scripted world, the repair round and the
durable JSONL append. ``--mix`` adds a broken proof (one repair round) and a cheating one (all rounds) per four
samples; ``--workers`` writes samples concurrently.

    .venv/bin/python -m bench.bench_synth --num 200 --workers 1

``alchemy``: one target, ``--rules`` rules (every one passes the pre-filter), each ``rw`` probe a scripted tactic of
``--delay-ms``; a quarter of the rules rewrite the conclusion into a verifiable variant. The world runs as real
subprocesses behind ``ReplSession`` (the REPL client, protocol and pool), ``--pool`` of them: probes per second and
verified variants per target.

    .venv/bin/python -m bench.bench_synth --alchemy --rules 200 --delay-ms 20 --pool 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from prover.lean.doubles.session import WorldSession
    from prover.synthesis.concepts import ConceptLibrary
    from prover.synthesis.fake_endpoint import FakeEndpoint
    from prover.synthesis.llm import OpenAIChat
    from prover.synthesis.mustard import MustardWriter, run_mustard
    from prover.synthesis.settings import LLMSettings, MustardSettings

    sys_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sys_args.add_argument("--num", type=int, default=200)
    sys_args.add_argument("--workers", type=int, default=1)
    sys_args.add_argument("--mix", action="store_true", help="1 in 4 broken (repaired), 1 in 4 cheating")
    sys_args.add_argument("--alchemy", action="store_true", help="the Alchemy probe benchmark instead")
    sys_args.add_argument("--rules", type=int, default=200)
    sys_args.add_argument("--delay-ms", type=int, default=20)
    sys_args.add_argument("--pool", type=int, default=1)
    args = sys_args.parse_args(argv)
    if args.alchemy:
        return alchemy(args.rules, args.delay_ms, args.pool)

    import tests.test_synth_mustard as canned  # the canned answers of the tests: one source of truth

    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib.json"
        concepts = ["Bezout's identity", "Cauchy-Schwarz inequality", "perfect numbers", "null sets"]
        if not args.mix:
            concepts = concepts[:1]
        lib.write_text(json.dumps({"levels": {"higher education": {"D": concepts}}}), encoding="utf-8")
        with FakeEndpoint(canned.RULES) as ep:
            settings = MustardSettings(
                concepts=str(lib), k=1, num=args.num, workers=args.workers,
                llm=LLMSettings(model="fake", base_url=ep.base_url, retries=0),
            )  # fmt: skip
            session = WorldSession(canned.WORLD, pool_size=args.workers)
            writer = MustardWriter(settings, ConceptLibrary.load(lib), OpenAIChat(settings.llm), session)
            t0 = time.perf_counter()
            summary = run_mustard(settings, writer, Path(tmp) / "run")
            elapsed = time.perf_counter() - t0
            calls = len(ep.requests)
    verdicts: dict[str, int] = {}
    for r in summary.records:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    print(
        json.dumps(
            {
                "samples": summary.written,
                "workers": args.workers,
                "mix": args.mix,
                "model_calls": calls,
                "seconds": round(elapsed, 2),
                "samples_per_minute": round(60 * summary.written / elapsed, 1),
                "ms_per_sample": round(1000 * elapsed / max(1, summary.written), 2),
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
            variants = mutate(session, target, rules, counts)
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


if __name__ == "__main__":
    raise SystemExit(main())
