"""The one exception hierarchy for problems a user can cause and fix.

Library code raises these deep down with a message that names the cause and the fix;
only the CLI turns them into a one-line error and an exit code. Anything else that
escapes is a bug in zeroplay and keeps its traceback.
"""

from __future__ import annotations


class ZeroplayError(Exception):
    """A problem the user can fix; its message says how. The CLI exits with `exit_code`."""

    exit_code = 2


class ConfigError(ZeroplayError):
    """A config file or `--set` override is missing, malformed or breaks a rule."""


class DockerUnavailableError(ZeroplayError):
    """No Docker daemon answers, so nothing can be sandboxed."""


class ImageBuildError(ZeroplayError):
    """The sandbox image could not be built (debootstrap, docker build, disk space)."""


class RunDirError(ZeroplayError):
    """A run directory is missing, already taken, or not a zeroplay run."""

