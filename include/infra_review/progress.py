"""Progress of long imports: a bar on a terminal, plain periodic lines otherwise (logs, CI).

Nothing is printed for work that ends within ``after`` seconds, so short imports stay quiet.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        every: float | None = None,
        after: float | None = None,
        bar: bool | None = None,
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.every = (
            float(os.environ.get("INFRA_REVIEW_PROGRESS_EVERY", "10")) if every is None else every
        )
        self.after = min(2.0, self.every) if after is None else after
        self.bar_wanted = self.stream.isatty() if bar is None else bar
        self.started = time.monotonic()
        self.last = self.started
        self.rows = 0
        self.printed = False
        self._bar = None

    def update(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        elapsed = now - self.started
        if self.bar_wanted:
            if self._bar is None and elapsed >= self.after:
                from tqdm import tqdm

                self._bar = tqdm(
                    desc=self.label,
                    unit=" rows",
                    unit_scale=True,
                    file=self.stream,
                    initial=self.rows - rows,
                )
            if self._bar is not None:
                self._bar.update(rows)
            return
        if elapsed >= self.after and now - self.last >= self.every:
            self.last = now
            self.line(f"{self.rows:,} rows, {self.rows / max(elapsed, 1e-9):,.0f} rows/s")

    def line(self, text: str) -> None:
        """A plain line (also used for phases, e.g. the final merge)."""
        if self._bar is not None:
            self._bar.write(f"{self.label}: {text}", file=self.stream)
            return
        print(f"{self.label}: {text}", file=self.stream, flush=True)
        self.printed = True

    def note(self, text: str) -> None:
        """A phase line, only if progress has been shown already (long work)."""
        if self.printed or self._bar is not None:
            self.line(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
