"""What the `zeroplay` commands share: consoles, option types, progress displays, the pool.

Kept apart from `cli.py` so that each command group can live in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from zeroplay.config import Config

console = Console()
err_console = Console(stderr=True)


def make_typer(help: str, cls: type[TyperGroup] = TyperGroup) -> typer.Typer:
    return typer.Typer(help=help, cls=cls, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_show_locals=False)


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML run config. Default: the built-in local "
                 "config (the same as configs/local.yaml)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE",
                 help="Override one config value, e.g. --set rollout.temperature=0.7. "
                 "Repeatable."),
]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory, e.g. runs/demo.")]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Ray dashboard address, e.g. http://HEAD:8265. "
                 "Default: RAY_ADDRESS."),
]


@contextmanager
def progress_display(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal, plain lines on stderr otherwise."""
    if err_console.is_terminal:
        with err_console.status(message) as status:
            yield lambda text: status.update(text)
    else:
        err_console.print(message, highlight=False, soft_wrap=True)
        yield lambda text: err_console.print(text, highlight=False, soft_wrap=True)


@contextmanager
def sandbox_pool(cfg: Config) -> Iterator[Any]:
    from zeroplay.sandbox.pool import SandboxPool

    with progress_display("starting the sandbox pool") as progress:
        from zeroplay.sandbox.image import build_image

        image = build_image(cfg.sandbox, progress=progress).tag
        pool = SandboxPool(cfg.sandbox, image)
    with pool:
        yield pool


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal; nothing otherwise (output may be piped)."""
    if not err_console.is_terminal:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
