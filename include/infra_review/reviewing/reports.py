"""Report files that appear only once their review run is committed (issue 15 item 8)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """A fresh folder beside ``final`` to write a report into. When the block ends without
    an error (after the caller's commit, inside the block) it takes ``final``'s place (a
    retry of the same run replaces its earlier report); on any error it is deleted, so no
    report ever names a review run that was not written."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(stage, 0o755)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if final.is_symlink():
        raise RuntimeError(f"{final} is a symlink; refusing to replace it")
    if final.exists():
        shutil.rmtree(final)
    os.replace(stage, final)
