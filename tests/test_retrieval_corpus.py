"""Premise corpus format and loaders, accessible premises, the REPL declaration listing, BM25."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pytest

from prover.lean.declarations import (
    MARKER,
    DeclarationListingError,
    list_declarations,
    listing_command,
    parse_listing,
)
from prover.lean.protocol import Response
from prover.retrieval.accessible import Accessibility, AccessibilityError, header_modules
from prover.retrieval.bm25 import BM25Index, lean_tokenize
from prover.retrieval.corpus import (
    Corpus,
    CorpusError,
    Premise,
    SourceFile,
    corpus_from_declarations,
    corpus_from_traced_repo,
    path_to_module,
    read_any_corpus,
    read_corpus,
    read_leandojo_corpus,
    write_corpus,
)

# A LeanDojo Benchmark 4 corpus.jsonl in miniature (self-written): one line per file.
LEANDOJO_LINES = [
    {
        "path": ".lake/packages/lean4/src/lean/Init/Core.lean",
        "imports": [],
        "premises": [
            {
                "full_name": "Nat.add_zero",
                "code": "theorem Nat.add_zero (n : Nat) : n + 0 = n",
                "start": [10, 1],
                "end": [10, 45],
                "kind": "commanddeclaration",
            },
        ],
    },
    {
        "path": "Mathlib/Order/Basic.lean",
        "imports": [".lake/packages/lean4/src/lean/Init/Core.lean"],
        "premises": [
            {
                "full_name": "le_refl",
                "code": "theorem le_refl (a : α) : a ≤ a",
                "start": [5, 1],
                "end": [5, 30],
                "kind": "commanddeclaration",
            },
            {
                "full_name": "le_trans",
                "code": "theorem le_trans : a ≤ b → b ≤ c → a ≤ c",
                "start": [7, 1],
                "end": [8, 10],
                "kind": "commanddeclaration",
            },
        ],
    },
    {
        "path": "Mathlib/Algebra/Ring.lean",
        "imports": ["Mathlib/Order/Basic.lean"],
        "premises": [
            {
                "full_name": "mul_comm",
                "code": "theorem mul_comm (a b : G) : a * b = b * a",
                "start": [2, 1],
                "end": [2, 40],
                "kind": "commanddeclaration",
            },
            {
                "full_name": "two_mul",
                "code": "theorem two_mul (a : α) : 2 * a = a + a",
                "start": [9, 1],
                "end": [9, 40],
                "kind": "commanddeclaration",
            },
        ],
    },
    {
        "path": "Mathlib/Other.lean",
        "imports": [],
        "premises": [
            {
                "full_name": "other_lemma",
                "code": "theorem other_lemma : True",
                "start": [1, 1],
                "end": [1, 20],
                "kind": "commanddeclaration",
            },
        ],
    },
]


def _write_lines(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


@pytest.fixture
def leandojo_file(tmp_path: Path) -> Path:
    return _write_lines(tmp_path / "corpus.jsonl", LEANDOJO_LINES)


# --- format ---------------------------------------------------------------------------------------
def test_leandojo_corpus_is_read_with_files_imports_and_positions(leandojo_file: Path) -> None:
    corpus = read_leandojo_corpus(leandojo_file)
    assert corpus.names() == ["Nat.add_zero", "le_refl", "le_trans", "mul_comm", "two_mul", "other_lemma"]
    le_trans = corpus.premises[2]
    assert le_trans.path == "Mathlib/Order/Basic.lean" and le_trans.module == "Mathlib.Order.Basic"
    assert le_trans.start == (7, 1) and le_trans.end == (8, 10)
    assert corpus.premises[0].module == "Init.Core"  # toolchain prefix dropped
    assert corpus.files["Mathlib/Algebra/Ring.lean"].imports == ("Mathlib/Order/Basic.lean",)


def test_our_format_round_trips_byte_for_byte(leandojo_file: Path, tmp_path: Path) -> None:
    corpus = read_leandojo_corpus(leandojo_file)
    digest = write_corpus(corpus, tmp_path / "ours.jsonl")
    again = read_corpus(tmp_path / "ours.jsonl")
    assert again.premises == corpus.premises and again.files == corpus.files
    assert write_corpus(again, tmp_path / "ours2.jsonl") == digest
    assert read_any_corpus(tmp_path / "ours.jsonl").premises == corpus.premises
    assert read_any_corpus(leandojo_file).premises == corpus.premises


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"full_name": "a"}\n{"full_name": "b",\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: not JSON"):
        read_corpus(path)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ({"full_name": ""}, "non-empty string 'full_name'"),
        ({"full_name": "a", "start": [1]}, "'start' must be"),
        ({"full_name": "a", "code": 3}, "'code' must be a string"),
        ({"name": "a"}, "neither a premise"),
        ({"path": "A.lean", "premises": []}, "LeanDojo's corpus.jsonl format"),
        ({"file": "A.lean", "imports": "B.lean"}, "'imports' must be a list"),
    ],
)
def test_invalid_records_are_rejected_with_location(tmp_path: Path, line: dict, needle: str) -> None:
    path = _write_lines(tmp_path / "c.jsonl", [{"full_name": "ok"}, line])
    with pytest.raises(CorpusError, match=needle) as info:
        read_corpus(path)
    assert "c.jsonl:2" in str(info.value)


def test_non_utf8_line_fails_by_default_and_is_skipped_with_report_on_request(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"full_name": "a"}\n{"full_name": "b\xff"}\n{"full_name": "c"}\n')
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: not UTF-8"):
        read_corpus(path)
    corpus = read_corpus(path, bad_utf8="skip")
    assert corpus.names() == ["a", "c"]
    assert len(corpus.skipped) == 1 and "c.jsonl:2" in corpus.skipped[0]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope.jsonl")


def test_path_to_module_handles_package_paths() -> None:
    assert path_to_module("Mathlib/Data/Nat/Basic.lean") == "Mathlib.Data.Nat.Basic"
    assert path_to_module(".lake/packages/batteries/Batteries/Data/List.lean") == "Batteries.Data.List"


# --- LeanDojo TracedRepo (a fake with the attributes lean_dojo 4.20 exposes) ------------------------
def test_traced_repo_loader_uses_dependency_graph_and_premise_definitions() -> None:
    def traced_file(path: str, premises: list[dict], deps: list[tuple[str, Path]]) -> SimpleNamespace:
        return SimpleNamespace(
            path=Path(path),
            get_premise_definitions=lambda: premises,
            get_direct_dependencies=lambda repo: deps,
        )

    a = traced_file(
        "A.lean",
        [
            {
                "full_name": "a1",
                "code": "theorem a1 : True",
                "start": [1, 1],
                "end": [1, 9],
                "kind": "commanddeclaration",
            }
        ],
        [],
    )
    b = traced_file(
        "B.lean",
        [
            {
                "full_name": "b1",
                "code": "def b1 := 1",
                "start": [3, 1],
                "end": [3, 12],
                "kind": "commanddeclaration",
            }
        ],
        [("A", Path("A.lean"))],
    )
    graph = nx.DiGraph()
    graph.add_edge("B.lean", "A.lean")  # LeanDojo: importer -> imported
    with_graph = corpus_from_traced_repo(
        SimpleNamespace(traced_files=[a, b], traced_files_graph=graph, repo=None)
    )
    without = corpus_from_traced_repo(
        SimpleNamespace(traced_files=[a, b], traced_files_graph=None, repo=None)
    )
    for corpus in (with_graph, without):
        assert corpus.names() == ["a1", "b1"]
        assert corpus.files["B.lean"].imports == ("A.lean",)
        assert corpus.premises[1].end == (3, 12) and corpus.premises[1].module == "B"


# --- accessible premises ----------------------------------------------------------------------------
def test_accessible_premises_follow_transitive_imports_and_earlier_definitions(leandojo_file: Path) -> None:
    access = Accessibility(read_leandojo_corpus(leandojo_file))
    ring = "Mathlib/Algebra/Ring.lean"
    assert access.accessible(ring, (5, 0)) == {"Nat.add_zero", "le_refl", "le_trans", "mul_comm"}
    assert access.accessible(ring, (9, 40)) >= {"two_mul"}  # ends exactly at pos: accessible
    assert "two_mul" not in access.accessible(ring, (9, 39))
    assert access.accessible(ring) == {"Nat.add_zero", "le_refl", "le_trans", "mul_comm", "two_mul"}
    assert "other_lemma" not in access.accessible(ring)
    assert access.accessible_from_modules(["Mathlib.Order.Basic"]) == {"Nat.add_zero", "le_refl", "le_trans"}
    with pytest.raises(AccessibilityError, match="not in the corpus"):
        access.accessible("Nope.lean")
    with pytest.raises(AccessibilityError, match="module 'Nope'"):
        access.accessible_from_modules(["Nope"])


def test_import_cycles_do_not_loop() -> None:
    corpus = Corpus(
        premises=[Premise("x", path="X.lean", end=(5, 0)), Premise("y", path="Y.lean")],
        files={
            "X.lean": SourceFile("X.lean", "X", ("Y.lean",)),
            "Y.lean": SourceFile("Y.lean", "Y", ("X.lean",)),
        },
    )
    access = Accessibility(corpus)
    assert access.accessible("X.lean", (1, 0)) == {"y"}
    assert access.transitive_imports("Y.lean") == {"X.lean"}


def test_header_modules() -> None:
    assert header_modules("import Mathlib\nimport Aesop -- search\nopen Nat\n") == ["Mathlib", "Aesop"]


# --- REPL declaration listing ----------------------------------------------------------------------
def _listing_response(decls: list[dict], mods: list[dict], announced: int | None = None) -> Response:
    lines = [json.dumps(d, ensure_ascii=False) for d in decls + mods]
    n = len(decls) if announced is None else announced
    data = f"{MARKER} {n} {len(mods)}\n" + "\n".join(lines)
    return Response.from_json(
        {
            "env": 1,
            "messages": [{"severity": "info", "pos": {"line": 2, "column": 0}, "endPos": None, "data": data}],
        }
    )


DECLS = [
    {
        "name": "Nat.succ_le_iff",
        "module": "Mathlib.Order.Basic",
        "kind": "theorem",
        "type": "∀ {m n : ℕ}, m.succ ≤ n ↔ m < n",
        "range": [120, 0, 121, 40],
    },
    {"name": "Nat.gcd", "module": "Init.Data.Nat.Gcd", "kind": "def", "type": "ℕ → ℕ → ℕ", "range": None},
]
MODS = [
    {"module": "Init.Data.Nat.Gcd", "imports": []},
    {"module": "Mathlib.Order.Basic", "imports": ["Init.Data.Nat.Gcd"]},
]


def test_listing_parser_reads_declarations_and_module_imports() -> None:
    listing = parse_listing(_listing_response(DECLS, MODS))
    first = listing.declarations[0]
    assert (first.name, first.kind, first.start, first.end) == (
        "Nat.succ_le_iff",
        "theorem",
        (120, 0),
        (121, 40),
    )
    assert listing.declarations[1].start == (0, 0)
    assert listing.module_imports["Mathlib.Order.Basic"] == ["Init.Data.Nat.Gcd"]
    corpus = corpus_from_declarations(listing.declarations, listing.module_imports)
    assert corpus.premises[0].code == "theorem Nat.succ_le_iff : ∀ {m n : ℕ}, m.succ ≤ n ↔ m < n"
    assert corpus.premises[0].path == "Mathlib/Order/Basic.lean"
    assert Accessibility(corpus).accessible_from_modules(["Mathlib.Order.Basic"]) == {
        "Nat.succ_le_iff",
        "Nat.gcd",
    }


def test_listing_parser_detects_truncation_errors_and_missing_marker() -> None:
    with pytest.raises(DeclarationListingError, match="truncated"):
        parse_listing(_listing_response(DECLS, MODS, announced=5))
    error = Response.from_json(
        {
            "messages": [
                {"severity": "error", "pos": {"line": 1, "column": 0}, "data": "unknown identifier 'getEnv'"}
            ]
        }
    )
    with pytest.raises(DeclarationListingError, match="unknown identifier"):
        parse_listing(error)
    with pytest.raises(DeclarationListingError, match="expected one"):
        parse_listing(Response.from_json({"env": 0, "messages": []}))


def test_listing_command_is_sent_through_the_runner_and_validates_prefixes() -> None:
    sent: list[str] = []

    def runner(command: str) -> Response:
        sent.append(command)
        return _listing_response(DECLS, MODS)

    listing = list_declarations(runner, module_prefixes=("Mathlib", "Init"), with_types=False)
    assert len(listing.declarations) == 2
    assert "run_cmd" in sent[0] and "[`Mathlib, `Init]" in sent[0] and "if false then" in sent[0]
    assert MARKER in sent[0]
    with pytest.raises(ValueError, match="not a module name prefix"):
        listing_command(["Mathlib; #exit"])


@pytest.mark.lean
def test_listing_runs_in_a_real_repl(repo_root: Path) -> None:
    """With a Lean toolchain: list Lean core's `Init` declarations through the REPL session."""
    from prover.config import compose
    from prover.lean.factory import make_session

    assert shutil.which("lake")
    cfg = compose(["backend=repl"])
    with make_session(cfg.backend) as session:
        listing = list_declarations(session.command_runner("import Lean"), module_prefixes=("Init.Core",))
    names = {d.name for d in listing.declarations}
    assert "Ne" in names or "absurd" in names
    assert all(d.module.startswith("Init.Core") for d in listing.declarations)


# --- BM25 -------------------------------------------------------------------------------------------
def test_lean_tokenizer_splits_names_and_keeps_notation() -> None:
    tokens = lean_tokenize("theorem Nat.succ_le_iff {m n : ℕ} : succ m ≤ n ↔ m < n")
    assert "nat.succ_le_iff" in tokens
    assert {"nat", "succ", "le", "iff", "≤", "↔", "ℕ"} <= set(tokens)
    assert "{" not in tokens and ":" not in tokens
    assert {"to", "finset"} <= set(lean_tokenize("s.toFinset"))


def test_bm25_scores_equal_rank_bm25() -> None:
    from rank_bm25 import BM25Okapi

    texts = [p["code"] for line in LEANDOJO_LINES for p in line["premises"]] + ["", "theorem foo : 2 * 2 = 4"]
    ours = BM25Index(texts)
    reference = BM25Okapi([lean_tokenize(t) for t in texts])
    for query in ["⊢ 2 * x = x + x", "a ≤ a", "h : a ≤ b\n⊢ a ≤ c", "unknownToken"]:
        assert ours.scores(query) == pytest.approx(
            reference.get_scores(lean_tokenize(query)), rel=1e-5, abs=1e-6
        )


# --- library entry points the CLI uses (prover index / prover retrieve parse and print only) ------------
def test_read_corpus_source_sniffs_or_obeys_the_source(leandojo_file: Path, tmp_path: Path) -> None:
    from prover.retrieval.corpus import read_corpus_source

    ours = tmp_path / "ours.jsonl"
    write_corpus(read_leandojo_corpus(leandojo_file), ours)
    assert read_corpus_source(leandojo_file).names() == read_corpus_source(ours).names()
    assert len(read_corpus_source(ours, "ours")) == len(read_leandojo_corpus(leandojo_file)) == 6
    with pytest.raises(CorpusError, match="our corpus format, not LeanDojo's"):
        read_corpus_source(ours, "leandojo")
    with pytest.raises(CorpusError, match="unknown corpus source 'xml'"):
        read_corpus_source(ours, "xml")  # type: ignore[arg-type]
    with pytest.raises(CorpusError, match="not a directory"):
        read_corpus_source(ours, "traced")


def test_corpus_digest_is_the_files_sha256(leandojo_file: Path, tmp_path: Path) -> None:
    import hashlib

    from prover.files import file_sha256

    out = tmp_path / "c.jsonl"
    digest = write_corpus(read_leandojo_corpus(leandojo_file), out)
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest() == file_sha256(str(out))
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 9000)  # more than one 1 MiB block
    assert file_sha256(big) == hashlib.sha256(big.read_bytes()).hexdigest()


def test_accessible_filter_picks_file_position_or_modules(leandojo_file: Path) -> None:
    from prover.retrieval.accessible import accessible_filter

    corpus = read_leandojo_corpus(leandojo_file)
    ring = "Mathlib/Algebra/Ring.lean"
    assert accessible_filter(corpus) is None
    assert accessible_filter(corpus, ring, (5, 0)) == {"Nat.add_zero", "le_refl", "le_trans", "mul_comm"}
    assert "two_mul" in accessible_filter(corpus, ring)  # type: ignore[operator]
    assert accessible_filter(corpus, modules=["Mathlib.Order.Basic"]) == {
        "Nat.add_zero",
        "le_refl",
        "le_trans",
    }
    with pytest.raises(AccessibilityError, match="not both"):
        accessible_filter(corpus, ring, modules=["Mathlib.Order.Basic"])
    with pytest.raises(AccessibilityError, match="needs the file"):
        accessible_filter(corpus, position=(1, 0))


def test_exceptions_share_the_retrieval_base() -> None:
    from prover.errors import ProverError
    from prover.retrieval.encoder import EncoderError
    from prover.retrieval.errors import RetrievalError
    from prover.retrieval.index import PremiseIndexError

    for cls in (CorpusError, AccessibilityError, EncoderError, PremiseIndexError):
        assert (
            issubclass(cls, RetrievalError) and issubclass(cls, ProverError) and issubclass(cls, ValueError)
        )


def test_build_index_from_settings_and_faiss_defaults_written_once(
    leandojo_file: Path, tmp_path: Path
) -> None:
    from prover.retrieval.index import FaissParams, PremiseIndex, build_index
    from prover.retrieval.settings import DenseRetrieverSettings, retriever_settings

    dense = DenseRetrieverSettings()
    assert FaissParams() == FaissParams.from_settings(dense)
    assert FaissParams.from_settings(DenseRetrieverSettings(nprobe=3)).nprobe == 3
    index = build_index(read_leandojo_corpus(leandojo_file), retriever_settings({"name": "bm25"}))
    loaded = PremiseIndex.load(index.save(tmp_path / "bm25"))
    assert loaded.meta.kind == "bm25" and loaded.meta.count == 6


@pytest.fixture
def bm25_dir(leandojo_file: Path, tmp_path: Path) -> Path:
    from prover.retrieval.index import build_bm25_index

    return build_bm25_index(read_leandojo_corpus(leandojo_file)).save(tmp_path / "bm25")


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_cli_retrieve_reads_states_from_stdin(
    bm25_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prover.cli.main import main

    _stdin(monkeypatch, '{"state": "⊢ a * b = b * a"}\n\n{"state": "⊢ 2 * a = a + a"}\n'.encode())
    assert main(["retrieve", "--index", str(bm25_dir), "--states-file", "-", "-k", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["state"], r["full_name"]) for r in rows] == [(0, "mul_comm"), (1, "two_mul")]


@pytest.mark.parametrize(
    ("stdin", "extra", "message"),
    [
        (b'{"state": "\xe2\x8a\xa2 x"}\n\xff\n', [], "<stdin>:2: not UTF-8"),
        (b'{"state": "x"}\n[1]\n', [], "<stdin>:2: expected a JSON object, got list"),
        (b'{"goal": "x"}\n', [], "<stdin>:1: expected an object with a string 'state'"),
        (b'{"state": "x"}\n', ["--from-file", "Mathlib/Other.lean", "--imports", "Mathlib"], "not both"),
        (b'{"state": "x"}\n', ["--from-file", "Nope.lean"], "'Nope.lean' is not in the corpus"),
        (b'{"state": "x"}\n', ["--at", "1:0"], "--at needs --from-file"),
    ],
)
def test_cli_retrieve_bad_input_is_one_line_exit_2(
    bm25_dir: Path,
    stdin: bytes,
    extra: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from prover.cli.main import main

    _stdin(monkeypatch, stdin)
    assert main(["retrieve", "--index", str(bm25_dir), "--states-file", "-", *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("prover retrieve: error:")
    assert captured.out == ""
