"""``prover serve``: the prover over HTTP for editors (the VS Code companion) and LeanCopilot.

Modules, one job each: ``settings`` (the ``serve:`` config group), ``schemas`` (request/response bodies, the
OpenAPI schema), ``errors`` (the one JSON error shape), ``gateway`` (API key, body limit, request log),
``context`` (which headers and statements may reach Lean), ``pool`` (bounded Lean sessions), ``batching`` (the generator's thread and queue), ``jobs`` (proof-search
jobs), ``service`` (everything built once from the hydra config), ``app`` (routes). The API is documented in
README.md ("Editor server").
"""
