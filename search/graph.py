"""The search graph: proof states de-duplicated by their goals' text, tactics as scored edges.

Every algorithm (best-first, MCTS, multi-perspective) grows the same structure, so proof extraction, status
bookkeeping, statistics and the saved JSON tree are written once. Nodes are small integers (node 0 is the
root); ``kind`` is ``state`` (an open proof state), ``proof`` (the single "no goals left" node) or a failed
step (``error`` / ``timeout`` / ``crash``, one node per failed tactic so a rendering can grey it out).

Status rules: a state is PROVED when some child edge leads to a PROVED node, FAILED when it has been
expanded and every child is FAILED, otherwise OPEN; a change is propagated upward at once. An edge that
leads back to the state itself or to one of its ancestors is recorded with ``cycle=True`` and ignored by
the status rules and by proof extraction: a proof through it could always be shortened, and ignoring it
keeps the status graph acyclic (otherwise two states on a cycle would wait on each other for ever).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import networkx as nx

from prover.lean.types import Crash, ProofFinished, TacticError, TacticResult, TacticState, Theorem, Timeout
from prover.search.errors import GraphFormatError, SearchError

GRAPH_FORMAT = "lean-prover-search-graph"
GRAPH_VERSION = 1
ROOT = 0
FAILED_KINDS = ("error", "timeout", "crash")
_FAILURE_COUNTERS = {"error": "errors", "timeout": "timeouts", "crash": "crashes"}


class Status(StrEnum):
    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


@dataclass
class SearchStats:
    """Counters and clocks of one search (summed over attempts). ``search_time_s`` excludes Lean and model."""

    expansions: int = 0
    tactic_calls: int = 0
    errors: int = 0
    timeouts: int = 0
    crashes: int = 0
    duplicates: int = 0
    cycles: int = 0
    max_depth: int = 0
    nodes: int = 0
    lean_time_s: float = 0.0
    model_time_s: float = 0.0
    total_time_s: float = 0.0
    #: tokens a model server reported for this search (``generator=openai``; 0 for local models); the front
    #: door fills them for every searcher (``prover.theorem_prover``)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def search_time_s(self) -> float:
        return max(0.0, self.total_time_s - self.lean_time_s - self.model_time_s)

    def merge(self, other: SearchStats) -> None:
        """Add another attempt's counters; depth and node counts take the maximum / sum as appropriate."""
        for f in fields(self):
            if f.name == "max_depth":
                self.max_depth = max(self.max_depth, other.max_depth)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["search_time_s"] = self.search_time_s
        for key in ("lean_time_s", "model_time_s", "total_time_s", "search_time_s"):
            data[key] = round(data[key], 6)
        return data


@dataclass(frozen=True)
class StepOutcome:
    """What adding one tactic result did to the graph."""

    kind: str  # new | duplicate | cycle | proof | error | timeout | crash
    parent: int
    child: int

    @property
    def is_new_state(self) -> bool:
        return self.kind == "new"


class SearchGraph:
    """A proof-search graph over one theorem (see the module docstring for the rules)."""

    def __init__(self, theorem: Theorem | None = None) -> None:
        self.theorem = theorem
        self.graph: nx.DiGraph = nx.DiGraph()
        self.states: dict[int, TacticState] = {}
        self.stats = SearchStats()
        self._by_key: dict[str, int] = {}
        self._proof_node: int | None = None
        self._proof_paths: list[tuple[str, ...]] = []
        self._next_id = 0

    # --- building -------------------------------------------------------------------------------
    def add_root(self, state: TacticState) -> int:
        if self.graph.number_of_nodes():
            raise SearchError("the search graph already has a root")
        if self.theorem is None:
            self.theorem = state.theorem
        return self._add_state(state, depth=0, logprob=0.0)

    def _new_id(self) -> int:
        node = self._next_id
        self._next_id += 1
        return node

    def _add_state(self, state: TacticState, depth: int, logprob: float) -> int:
        node = self._new_id()
        self.graph.add_node(
            node,
            kind="state",
            status=Status.OPEN,
            goals=list(state.goals),
            depth=depth,
            logprob=logprob,
            expanded=False,
        )
        self.states[node] = state
        self._by_key[state.key] = node
        self.stats.nodes += 1
        self.stats.max_depth = max(self.stats.max_depth, depth)
        return node

    def add_result(self, parent: int, tactic: str, logprob: float, result: TacticResult) -> StepOutcome:
        """Record ``tactic`` (scored ``logprob``) run on ``parent`` with ``result``; update statuses."""
        self.stats.tactic_calls += 1
        pdata = self.graph.nodes[parent]
        depth = pdata["depth"] + 1
        cum = pdata["logprob"] + logprob
        if isinstance(result, TacticState):
            existing = self._by_key.get(result.key)
            if existing is None:
                child = self._add_state(result, depth, cum)
                self.graph.add_edge(parent, child, tactic=tactic, logprob=logprob, cycle=False)
                self._refresh(parent)
                return StepOutcome("new", parent, child)
            self.stats.duplicates += 1
            if existing == parent or nx.has_path(self.graph, existing, parent):
                self.stats.cycles += 1
                if not self.graph.has_edge(parent, existing):
                    self.graph.add_edge(parent, existing, tactic=tactic, logprob=logprob, cycle=True)
                return StepOutcome("cycle", parent, existing)
            edata = self.graph.get_edge_data(parent, existing)
            if edata is None or (edata["cycle"] is False and logprob > edata["logprob"]):
                self.graph.add_edge(parent, existing, tactic=tactic, logprob=logprob, cycle=False)
            cdata = self.graph.nodes[existing]
            cdata["depth"] = min(cdata["depth"], depth)
            cdata["logprob"] = max(cdata["logprob"], cum)
            self._refresh(parent)
            return StepOutcome("duplicate", parent, existing)
        if isinstance(result, ProofFinished):
            if self._proof_node is None:
                self._proof_node = self._new_id()
                self.graph.add_node(
                    self._proof_node,
                    kind="proof",
                    status=Status.PROVED,
                    goals=[],
                    depth=depth,
                    logprob=cum,
                    expanded=True,
                )
            proof = self._proof_node
            pnode = self.graph.nodes[proof]
            pnode["depth"] = min(pnode["depth"], depth)
            pnode["logprob"] = max(pnode["logprob"], cum)
            self._proof_paths.append(tuple(result.path))
            edata = self.graph.get_edge_data(parent, proof)
            if edata is None or logprob > edata["logprob"]:
                self.graph.add_edge(parent, proof, tactic=tactic, logprob=logprob, cycle=False)
            self._refresh(parent)
            return StepOutcome("proof", parent, proof)
        kind, message = _failure(result)
        counter = _FAILURE_COUNTERS[kind]
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        node = self._new_id()
        self.graph.add_node(
            node,
            kind=kind,
            status=Status.FAILED,
            goals=[],
            depth=depth,
            logprob=cum,
            expanded=True,
            message=message,
        )
        self.graph.add_edge(parent, node, tactic=tactic, logprob=logprob, cycle=False)
        self._refresh(parent)
        return StepOutcome(kind, parent, node)

    def mark_expanded(self, node: int) -> None:
        """The node got all the children it will get (a FAILED verdict becomes possible)."""
        data = self.graph.nodes[node]
        if not data["expanded"]:
            data["expanded"] = True
            self._refresh(node)

    # --- status ---------------------------------------------------------------------------------
    def status(self, node: int = ROOT) -> Status:
        return self.graph.nodes[node]["status"]

    @property
    def is_proved(self) -> bool:
        return self.graph.number_of_nodes() > 0 and self.status(ROOT) is Status.PROVED

    @property
    def is_failed(self) -> bool:
        return self.graph.number_of_nodes() > 0 and self.status(ROOT) is Status.FAILED

    def children(self, node: int) -> list[int]:
        """Children through non-cycle edges."""
        return [c for c, e in self.graph.succ[node].items() if not e["cycle"]]

    def _compute(self, node: int) -> Status:
        data = self.graph.nodes[node]
        if data["kind"] != "state":
            return data["status"]
        statuses = [self.graph.nodes[c]["status"] for c in self.children(node)]
        if Status.PROVED in statuses:
            return Status.PROVED
        if data["expanded"] and all(s is Status.FAILED for s in statuses):
            return Status.FAILED
        return Status.OPEN

    def _refresh(self, node: int) -> None:
        work = deque([node])
        while work:
            n = work.popleft()
            new = self._compute(n)
            if new is not self.graph.nodes[n]["status"]:
                self.graph.nodes[n]["status"] = new
                work.extend(p for p, e in self.graph.pred[n].items() if not e["cycle"])

    # --- proofs ---------------------------------------------------------------------------------
    def shortest_proof(self) -> list[str] | None:
        """The fewest-tactics path from the root to the proof node (non-cycle edges), or None."""
        if self._proof_node is None or not self.graph.number_of_nodes():
            return None
        parent: dict[int, int] = {ROOT: ROOT}
        queue = deque([ROOT])
        while queue:
            n = queue.popleft()
            if n == self._proof_node:
                break
            for c in self.children(n):
                if c not in parent and self.graph.nodes[c]["kind"] in ("state", "proof"):
                    parent[c] = n
                    queue.append(c)
        if self._proof_node not in parent:
            return None
        tactics: list[str] = []
        n = self._proof_node
        while n != ROOT:
            p = parent[n]
            tactics.append(self.graph.edges[p, n]["tactic"])
            n = p
        return tactics[::-1]

    @property
    def observed_proofs(self) -> list[tuple[str, ...]]:
        """Tactic paths that Lean itself reported as finished proofs (each one replayed by the backend)."""
        return list(self._proof_paths)

    # --- node accessors (algorithms read nodes through these, never through ``self.graph``) --------
    def __len__(self) -> int:
        """Number of nodes (states, the proof node and failed-step nodes)."""
        return self.graph.number_of_nodes()

    def kind(self, node: int) -> str:
        """``state``, ``proof``, or the failure kind (``error`` / ``timeout`` / ``crash``)."""
        return str(self.graph.nodes[node]["kind"])

    def is_expanded(self, node: int) -> bool:
        """Has ``node`` got all the children it will get (see :meth:`mark_expanded`)?"""
        return bool(self.graph.nodes[node]["expanded"])

    def depth_of(self, node: int) -> int:
        """Fewest steps from the root to ``node`` seen so far."""
        return int(self.graph.nodes[node]["depth"])

    def logprob(self, node: int) -> float:
        """Best cumulative log-probability of a path from the root to ``node`` seen so far."""
        return float(self.graph.nodes[node]["logprob"])

    def goals(self, node: int) -> list[str]:
        """The open goals of a state node (empty for the proof node and failed steps)."""
        return self.graph.nodes[node]["goals"]

    def state(self, node: int) -> TacticState:
        """The backend's proof state of a state node (what the generator and Lean are given)."""
        return self.states[node]

    def nodes_where(self, kind: str) -> Iterable[int]:
        return (n for n, d in self.graph.nodes(data=True) if d["kind"] == kind)

    # --- JSON -----------------------------------------------------------------------------------
    def to_json(self, judge: str | None = None) -> dict[str, Any]:
        """A self-contained JSON tree (no backend handles): what ``prover tree render`` draws.

        With ``judge`` (the run's judge) the file says who decided "proved" and, for ``simulation`` (a scripted
        world, no Lean), ``"simulation": true``, which ``prover tree render`` shows in the drawing's title."""
        nodes = []
        for n, d in self.graph.nodes(data=True):
            item = {
                "id": n,
                "kind": d["kind"],
                "status": d["status"].value,
                "goals": d["goals"],
                "depth": d["depth"],
                "logprob": round(d["logprob"], 6),
                "expanded": d["expanded"],
            }
            if "message" in d:
                item["message"] = d["message"]
            nodes.append(item)
        edges = [
            {
                "source": u,
                "target": v,
                "tactic": e["tactic"],
                "logprob": round(e["logprob"], 6),
                "cycle": e["cycle"],
            }
            for u, v, e in self.graph.edges(data=True)
        ]
        theorem = None
        if self.theorem is not None:
            theorem = {
                "name": self.theorem.name,
                "statement": self.theorem.statement,
                "header": self.theorem.header,
            }
        out: dict[str, Any] = {
            "format": GRAPH_FORMAT,
            "version": GRAPH_VERSION,
            "theorem": theorem,
            "root": ROOT,
            "proof": self.shortest_proof(),
            "stats": self.stats.to_json(),
            "nodes": nodes,
            "edges": edges,
        }
        if judge:
            out["judge"] = judge
            out["simulation"] = judge == "simulation"
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchGraph:
        """Rebuild a saved graph (for rendering and analysis; states carry no backend handles)."""
        if not isinstance(data, dict) or data.get("format") != GRAPH_FORMAT:
            raise GraphFormatError(f'not a search graph: expected "format": "{GRAPH_FORMAT}"')
        try:
            th = data.get("theorem")
            theorem = Theorem(th["name"], th["statement"], th.get("header", "")) if th else None
            graph = cls(theorem)
            for item in data["nodes"]:
                n = int(item["id"])
                attrs = {
                    "kind": item["kind"],
                    "status": Status(item["status"]),
                    "goals": list(item["goals"]),
                    "depth": int(item["depth"]),
                    "logprob": float(item["logprob"]),
                    "expanded": bool(item["expanded"]),
                }
                if "message" in item:
                    attrs["message"] = item["message"]
                graph.graph.add_node(n, **attrs)
                graph._next_id = max(graph._next_id, n + 1)
                if item["kind"] == "state" and theorem is not None:
                    state = TacticState(tuple(item["goals"]), theorem)
                    graph.states[n] = state
                    graph._by_key[state.key] = n
                if item["kind"] == "proof":
                    graph._proof_node = n
            for e in data["edges"]:
                graph.graph.add_edge(
                    int(e["source"]),
                    int(e["target"]),
                    tactic=str(e["tactic"]),
                    logprob=float(e["logprob"]),
                    cycle=bool(e["cycle"]),
                )
            stats = data.get("stats") or {}
            for f in fields(SearchStats):
                if f.name in stats:
                    setattr(graph.stats, f.name, type(getattr(graph.stats, f.name))(stats[f.name]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GraphFormatError(f"malformed search graph JSON: {exc!r}") from exc
        if ROOT not in graph.graph:
            raise GraphFormatError("malformed search graph JSON: no root node 0")
        return graph

    @classmethod
    def loads(cls, text: str) -> SearchGraph:
        return cls.from_json(json.loads(text))


def read_graph_file(path: Path) -> dict[str, Any]:
    """The graph JSON saved in ``path``: a ``SearchGraph.to_json()`` file (``--save-trees``), or a
    ``SearchResult.to_json(include_graph=True)`` whose ``graph`` it is. Raises :class:`GraphFormatError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphFormatError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphFormatError(f"{path} is not JSON: {exc}") from None
    if isinstance(data, dict) and "graph" in data and "nodes" not in data:
        data = data["graph"]
    if not isinstance(data, dict) or data.get("format") != GRAPH_FORMAT:
        raise GraphFormatError(f'{path}: not a search graph: expected "format": "{GRAPH_FORMAT}"')
    return data


def _failure(result: TacticResult) -> tuple[str, str]:
    if isinstance(result, TacticError):
        return "error", "\n".join(result.messages)
    if isinstance(result, Timeout):
        return "timeout", f"timed out after {result.seconds:g} s"
    if isinstance(result, Crash):
        return "crash", result.reason
    raise TypeError(f"not a tactic result: {type(result).__name__}")
