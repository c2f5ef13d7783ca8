"""The per-start token (Jupyter's model): a random secret written to a file only this user can read.

Why: a server on 127.0.0.1 is reachable by every local user and every program, and a key a user must choose
is a key most users never set. ``prover serve`` draws a fresh token at each start, writes it to
``<token_dir>/serve-<port>.token`` (mode 0600, directory 0700) and requires it like the API key; the editor
companion reads the file. The file is removed when the server stops.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def default_token_dir() -> Path:
    """``$XDG_RUNTIME_DIR/lean-prover`` (per-user, tmpfs, gone at logout) or ``~/.cache/lean-prover``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "lean-prover"
    return Path.home() / ".cache" / "lean-prover"


def token_path(port: int, token_dir: str | Path | None = None) -> Path:
    return (Path(token_dir).expanduser() if token_dir else default_token_dir()) / f"serve-{port}.token"


def write_token(port: int, token_dir: str | Path | None = None) -> tuple[str, Path]:
    """A fresh token and the file it was written to (created 0600; an existing file is replaced)."""
    path = token_path(port, token_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # a fresh, random temp name created exclusively and never through a link: in a shared token_dir another
    # user's symlink at the name must not make us truncate or chmod its target
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode())
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)  # replaces a link at ``path`` itself, never writes through it
    return token, path


def remove_token(path: Path, token: str) -> None:
    """Remove the file if it still holds our token (a newer server on the same port may have replaced it)."""
    try:
        if path.read_text().strip() == token:
            path.unlink()
    except OSError:
        pass
