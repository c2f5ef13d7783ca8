"""Every shell command of README.md, extracted and checked: the README may not promise what the code does not do.

Each command of a ```bash / ```console block (continuation lines joined, comments and printed output dropped)
falls under exactly one row of :data:`RULES`, the first whose pattern matches:

- ``offline``: runs here against the scripted world (a simulation, not Lean) or shipped data, and what it
  prints is checked (:data:`OFFLINE`);
- ``refuses``: needs Lean, a network, a model, a server or files the user has; it must exit non-zero with ONE
  sentence on stderr and no traceback (the newcomer's first contact with a missing piece);
- ``not run``: not a ``prover`` command (``make``, a model server, ``export``) or a server that runs until it is
  stopped (``tests/test_serve_live.py`` drives one).

A new README command that no row covers fails :func:`test_every_readme_command_has_one_rule`. The commands run
in a scratch folder where ``prover`` and ``.venv/bin/prover`` are this checkout's, ``tests``/``datasets`` link
to the repository's and the cache (``PROVER_CACHE``) is empty, so nothing is fetched or written elsewhere.
Running every command takes minutes: those tests are ``slow``; the console block of ``prover lean check`` runs
in-process in the fast suite.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from prover.cli.main import main

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SHARED = REPO.parent / "shared"


@dataclass(frozen=True)
class Command:
    line: int  # README line of the block's first line of this command
    text: str  # the command as a shell would read it (continuations joined)
    output: tuple[
        str, ...
    ]  # the lines the README shows it printing (``console`` blocks, or JSON lines after it)


def readme_commands(text: str | None = None) -> list[Command]:
    """The shell commands of the README's ``bash``/``console`` blocks, in order."""
    lines = (text if text is not None else README.read_text(encoding="utf-8")).splitlines()
    out: list[Command] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang, j = fence.group(1), i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if lang in ("bash", "console"):
            out.extend(_block_commands(lines[i + 1 : j], i + 2, console=lang == "console"))
        i = j + 1
    return out


def _block_commands(body: list[str], first_line: int, *, console: bool) -> list[Command]:
    commands: list[Command] = []
    current: list[str] = []
    start = 0
    for n, raw in enumerate(body):
        line = raw.rstrip()
        if current:  # a continuation
            current.append(line.strip().rstrip("\\").strip())
            if not line.endswith("\\"):
                commands.append(Command(start, _strip_comment(" ".join(current)), ()))
                current = []
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if console and not stripped.startswith("$ "):
            _add_output(commands, stripped)
            continue
        if not console and (stripped.startswith("{") or stripped.startswith('"')):
            _add_output(commands, stripped)  # JSON lines the README shows a command printing
            continue
        stripped = stripped[2:] if console else stripped
        start = first_line + n
        if line.endswith("\\"):
            current = [stripped.rstrip("\\").strip()]
            continue
        commands.append(Command(start, _strip_comment(stripped), ()))
    return commands


def _add_output(commands: list[Command], line: str) -> None:
    last = commands[-1]
    commands[-1] = Command(last.line, last.text, (*last.output, line))


def _strip_comment(command: str) -> str:
    """Drop a trailing ``  # comment`` (two spaces or more before it; ``#`` inside quotes is kept)."""
    match = re.search(r"\s{2,}#", command)
    if (
        match
        and command[: match.start()].count("'") % 2 == 0
        and command[: match.start()].count('"') % 2 == 0
    ):
        command = command[: match.start()]
    return command.strip()


#: (kind, pattern searched in the command, why). First match wins; order from specific to general.
RULES: list[tuple[str, str, str]] = [
    ("not run", r"^make ", "builds the environment these tests run in"),
    ("not run", r"^(vllm serve|python -m sglang)", "a model server: needs a GPU and model weights"),
    ("not run", r"^export ", "sets a variable"),
    ("not run", r"^accelerate launch", "needs accelerate's multi-GPU setup"),
    ("not run", r"prover serve backend=scripted", "serves until stopped (tests/test_serve_live.py runs it)"),
    ("not run", r"serve\.allow_guard_only=true", "serves unchecked suggestions until stopped"),
    (
        "not run",
        r"generator=knn generator.corpus=\.\./shared",
        "embeds ../shared's large corpus: minutes on first use (the shipped corpus runs below)",
    ),
    # the offline path
    (
        "offline",
        r"prover prove benchmark=samples backend=scripted --save-trees --out runs/offline",
        "main job",
    ),
    ("offline", r"prover prove --resume runs/offline$", "main job: resume"),
    ("offline", r"prover report runs/offline$", "main job: report"),
    ("offline", r"prover tree render runs/offline/", "main job: tree render"),
    ("offline", r"prover prove --cfg search=mcts", "prints the composed config"),
    ("offline", r"prover lean check .*backend=scripted", "checked against the scripted world"),
    ("offline", r"prover lean check .*--static", "the static guard alone"),
    ("offline", r"^prover suggest --state \$'c d", "the default kNN generator on the shipped corpus"),
    ("offline", r"\| prover suggest --state - -k 4 generator=portfolio", "the automation portfolio"),
    ("offline", r"prover data list", "the manifest"),
    ("offline", r"prover solve backend=scripted backend.world=tests/data/worlds/fps_world.json", "FPS world"),
    # what needs Lean, a network, a model, a server or the user's own files
    ("refuses", r"--repl-cmd|prover lean run", "needs Lean (the REPL) or the user's transcript"),
    ("refuses", r"generator=openai|synth\.llm\.base_url", "needs a model server"),
    (
        "refuses",
        r"generator\.model=(\.\.\.|PATH|/models)|synth\.llm\.model=PATH|train\.generator\.model=PATH",
        "needs a model",
    ),
    ("refuses", r"prover data fetch (minif2f_deepseek|fps_formal_math500)$", "needs the network"),
    ("shared", r"prover data fetch minif2f --from \.\./shared", "runs with ../shared; refuses without it"),
    (
        "refuses",
        r"benchmark=(minif2f|putnambench|fps_|formalmath)|data show formalmath",
        "needs a fetched benchmark",
    ),
    ("refuses", r"(--resume|report|--compare|tree render) runs/", "needs a run directory of the user's"),
    ("refuses", r"prover (index|retrieve)", "needs the user's corpus or index"),
    (
        "refuses",
        r"prover (data build-train|data curate|train|iterate|synth alchemy)",
        "needs the user's data",
    ),
    ("refuses", r"prover synth mustard", "needs a model"),
    ("refuses", r"prover solve --check", "needs Lean"),
    ("refuses", r"prover serve", "needs Lean (backend=repl) or a model"),
    ("refuses", r"prover prove", "needs Lean (backend=repl is the default)"),
]


def rule_of(command: str) -> tuple[str, str, str] | None:
    return next((rule for rule in RULES if re.search(rule[1], command)), None)


COMMANDS = readme_commands()


def test_the_extractor_reads_continuations_comments_and_outputs() -> None:
    text = (
        '```bash\n# a comment\nprover prove a=1 \\\n    b=2      # trailing\n{"rank": 1}\n```\n'
        '```console\n$ prover lean check --static\n{"accepted": false}\n```\n```python\nprint(1)\n```\n'
    )
    commands = readme_commands(text)
    assert [c.text for c in commands] == ["prover prove a=1 b=2", "prover lean check --static"]
    assert commands[0].output == ('{"rank": 1}',) and commands[1].output == ('{"accepted": false}',)
    assert commands[0].line == 3


def test_every_readme_command_has_one_rule() -> None:
    assert len(COMMANDS) > 60, "the extractor lost the README's commands"
    unmatched = [f"README.md:{c.line}: {c.text}" for c in COMMANDS if rule_of(c.text) is None]
    assert not unmatched, "add a row to RULES for:\n" + "\n".join(unmatched)
    offline = [c for c in COMMANDS if rule_of(c.text)[0] == "offline"]  # type: ignore[index]
    assert {rule_of(c.text)[1] for c in offline} == {r[1] for r in RULES if r[0] == "offline"}  # type: ignore[index]


def _command(pattern: str) -> Command:
    found = [c for c in COMMANDS if re.search(pattern, c.text)]
    assert found, f"the README has no command matching {pattern!r} any more"
    return found[0]


def test_readme_lean_check_block_prints_what_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """The console block of ``prover lean check``: the same JSON, in-process (fast)."""
    for pattern in (r"prover lean check .*backend=scripted", r"prover lean check .*--static"):
        command = _command(pattern)
        argv = shlex.split(command.text)
        assert argv[0] == "prover"
        main(argv[1:])
        printed = capsys.readouterr().out.strip().splitlines()
        assert [json.loads(line) for line in printed] == [json.loads(line) for line in command.output]


# --- the slow part: every command in a shell ---------------------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "prover").symlink_to(Path(sys.executable).parent / "prover")
    for name in ("tests", "datasets"):
        (work / name).symlink_to(REPO / name)
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PROVER_CACHE": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "S": "n : ℕ\n⊢ n + 0 = n",
        "OPENAI_API_KEY": "",
    }
    env.pop("PROVER_SERVE_API_KEY", None)
    return work, env


def _sh(
    command: str, work: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
    )


REFUSALS = [c for c in COMMANDS if (rule_of(c.text) or ("",))[0] == "refuses"]
WITH_SHARED = [c for c in COMMANDS if (rule_of(c.text) or ("",))[0] == "shared"]


@pytest.mark.slow
@pytest.mark.parametrize("command", WITH_SHARED, ids=[f"L{c.line}" for c in WITH_SHARED])
def test_a_readme_command_on_shared_data_runs_where_it_is(
    command: Command, scratch: tuple[Path, dict[str, str]]
) -> None:
    """Runs with the reference data in ../shared; without it, refuses like the others."""
    work, env = scratch
    done = _sh(command.text, work, env, timeout=180)
    if SHARED.is_dir():
        assert done.returncode == 0, done.stderr[-3000:]
    else:
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("command", REFUSALS, ids=[f"L{c.line}" for c in REFUSALS])
def test_a_readme_command_that_needs_more_refuses_in_one_sentence(
    command: Command, scratch: tuple[Path, dict[str, str]]
) -> None:
    work, env = scratch
    done = _sh(command.text, work, env, timeout=180)
    assert done.returncode != 0, f"README.md:{command.line} ran: {command.text}\n{done.stdout[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    # one sentence: the last line says what is missing; before it only argparse's usage block or the command's
    # own progress notes (``prover CMD: ...``, never a log record or a library's output)
    err = [line for line in done.stderr.splitlines() if line.strip()]
    assert err and "error:" in err[-1], done.stderr[-3000:]
    before = err[:-1]
    if before and before[0].startswith("usage:"):
        before = [line for line in before[1:] if not line.startswith(" ")]
    assert all(re.match(r"prover [\w-]+: ", line) and "error:" not in line for line in before), done.stderr[
        -3000:
    ]
    assert done.stdout.strip() == "" or not any(
        line.startswith('{"event": "problem"') for line in done.stdout.splitlines()
    )


@pytest.mark.slow
def test_readme_offline_main_job(scratch: tuple[Path, dict[str, str]]) -> None:
    """prove on the scripted world (7 of 8, the README says), resume (nothing left), report, tree render."""
    work, env = scratch
    prove = _sh(_command(r"--save-trees --out runs/offline").text, work, env)
    assert prove.returncode == 0, prove.stderr[-3000:]
    done = json.loads(prove.stdout.strip().splitlines()[-1])
    assert (done["solved"], done["total"]) == (7, 8)
    assert "simulation" in json.dumps(
        json.loads((work / "runs/offline/run.json").read_text(encoding="utf-8"))
    )
    resume = _sh(_command(r"prover prove --resume runs/offline$").text, work, env)
    assert resume.returncode == 0 and '"attempted_now": 0' in resume.stdout, resume.stderr[-3000:]
    report = _sh(_command(r"prover report runs/offline$").text, work, env)
    assert report.returncode == 0, report.stderr[-3000:]
    for name in ("report.md", "report.html", "proofs.lean"):
        assert "simulation" in (work / "runs/offline/report" / name).read_text(encoding="utf-8").lower(), name
    tree = _sh(_command(r"prover tree render runs/offline/").text, work, env)
    assert tree.returncode == 0 and (work / "tree.svg").read_text(encoding="utf-8").lstrip().startswith("<")


@pytest.mark.slow
def test_readme_offline_config_suggest_data_and_solve(scratch: tuple[Path, dict[str, str]]) -> None:
    work, env = scratch
    cfg = _sh(_command(r"prover prove --cfg search=mcts").text, work, env)
    assert cfg.returncode == 0 and re.search(r"^search:\n(  .*\n)*  name: mcts$", cfg.stdout, re.M), (
        cfg.stdout
    )

    suggest = _command(r"^prover suggest --state \$'c d")
    ran = _sh(suggest.text, work, env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    rows = [json.loads(line) for line in ran.stdout.splitlines()]
    shown = [line for line in suggest.output if '"tactic"' in line]
    for row, line in zip(rows, shown, strict=False):
        want = re.search(r'"tactic": "([^"]+)", "logprob": (-[\d.]+)\.\.\.', line)
        assert want, line
        assert row["tactic"] == want.group(1) and f"{row['logprob']}".startswith(want.group(2)), (row, line)

    portfolio = _sh(_command(r"\| prover suggest --state - -k 4 generator=portfolio").text, work, env)
    assert portfolio.returncode == 0 and len(portfolio.stdout.splitlines()) == 4, portfolio.stderr[-3000:]

    listed = _sh(_command(r"prover data list").text, work, env)
    assert listed.returncode == 0 and "minif2f" in listed.stdout

    solve = _sh(_command(r"prover solve backend=scripted").text, work, env)
    assert solve.returncode == 0, solve.stderr[-3000:]
    assert "simulation" in (solve.stdout + solve.stderr).lower()


def _python_block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if marker in b]
    assert found, f"no python block with {marker!r}"
    return found[0]


@pytest.mark.slow
def test_readme_evaluation_run_snippet_runs_as_a_script(scratch: tuple[Path, dict[str, str]]) -> None:
    """The ``EvaluationRun`` snippet, saved as a script and run: it proves the samples in the scripted world
    (once it crashed without ``if __name__ == "__main__":`` and blamed memory)."""
    work, env = scratch
    (work / "snippet.py").write_text(_python_block("EvaluationRun.prepare"), encoding="utf-8")
    ran = _sh(f"{sys.executable} snippet.py", work, env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "RunProgress(" in ran.stdout and "solved=7" in ran.stdout, ran.stdout
