"""Write a folder all at once: into a scratch folder beside the target, renamed into place
only when complete, so an interrupted run never leaves a folder a later run takes as good.
Standard library only: the quantization scripts import it from their own environments."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

COMPLETE_MARKER = ".complete"


def is_complete(target: Path) -> bool:
    return (target / COMPLETE_MARKER).is_file()


def write_atomically(target: Path, fill: Callable[[Path], None], note: str) -> None:
    """Call fill(scratch) to write the folder's contents, then put it at `target` (readable
    by anyone: a server may run as another user)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(scratch)
        for item in scratch.rglob("*"):
            item.chmod(0o755 if item.is_dir() else 0o644)
        (scratch / COMPLETE_MARKER).write_text(f"{note}\n")
        if target.exists():
            shutil.rmtree(target)
        os.rename(scratch, target)
        target.chmod(0o755)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
