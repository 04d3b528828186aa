"""What `zeroplay run` shows while it runs: a live table on a terminal, log lines otherwise.

    with RunDisplay(total_steps=20, console=err_console) as display:
        SelfPlayLoop(run, events=display.event).run()

Per step: rewards per role, proposal validity, solve rate, curriculum size, samples/s,
the learner's version and loss, and an ETA from the mean step time so far.
"""

from __future__ import annotations

import statistics
from typing import Any

from rich.console import Console
from rich.table import Table

HISTORY = 8  # steps shown in the live table


class RunDisplay:
    def __init__(self, total_steps: int, console: Console):
        self.total, self.console = total_steps, console
        self.live_mode = console.is_terminal
        self.rows: list[dict[str, Any]] = []
        self.phase = "starting"
        self._live = None

    def __enter__(self) -> RunDisplay:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                              transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "phase":
            self.phase = data["text"]
            if not self.live_mode:
                self.console.print(self.phase, highlight=False, soft_wrap=True)
        elif kind == "step":
            row = data["row"]
            self.rows.append(row)
            self.phase = f"step {row['step']} of {self.total} done"
            if not self.live_mode:
                self.console.print(self.line(row), highlight=False, soft_wrap=True)
        elif kind == "heldout":
            scores = ", ".join(f"{split} {p:.1%}" for split, p in data["scores"].items())
            self.phase = f"held-out greedy pass@1 ({data['when']}, step {data['step']}): {scores}"
            self.console.print(self.phase, highlight=False, soft_wrap=True)
        if self._live is not None:
            self._live.update(self._render())

    def eta_seconds(self) -> float | None:
        if not self.rows:
            return None
        remaining = self.total - self.rows[-1]["step"]
        return remaining * statistics.fmean(r["seconds"] for r in self.rows)

    def line(self, row: dict[str, Any]) -> str:
        """One plain log line per step."""
        r, learner = row["reward"], row["learner"]
        loss = f"{learner['loss']:.3f}" if learner["loss"] is not None else "-"
        eta = self.eta_seconds()
        return (f"step {row['step']}/{self.total}  proposer reward {r['proposer']['mean']:+.2f}"
                f"  solver reward {r['solver']['mean']:.2f}  valid proposals "
                f"{row['proposal_validity']:.0%}  solve rate {row['solve_rate']:.0%}  "
                f"curriculum {row['curriculum_tasks']}  {row['samples_per_s']:.1f} samples/s  "
                f"learner v{learner['version']} loss {loss}  "
                f"{row['seconds']:.0f} s/step  ETA {_duration(eta)}")

    def _render(self) -> Table:
        eta = self.eta_seconds()
        table = Table(title=f"zeroplay self-play: {self.phase}  (ETA {_duration(eta)})",
                      title_justify="left")
        for column in ("step", "proposer R", "solver R", "valid prop.", "solve rate",
                       "curriculum", "samples/s", "learner", "loss", "s/step"):
            table.add_column(column, justify="right")
        for row in self.rows[-HISTORY:]:
            learner, r = row["learner"], row["reward"]
            table.add_row(
                f"{row['step']}/{self.total}", f"{r['proposer']['mean']:+.2f}",
                f"{r['solver']['mean']:.2f}", f"{row['proposal_validity']:.0%}",
                f"{row['solve_rate']:.0%}", str(row["curriculum_tasks"]),
                f"{row['samples_per_s']:.1f}", f"v{learner['version']} "
                f"({learner['optimizer_step']} steps)",
                f"{learner['loss']:.3f}" if learner["loss"] is not None else "-",
                f"{row['seconds']:.1f}")
        return table


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
