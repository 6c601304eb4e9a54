"""Secrets from the environment or from a command that prints them (like mutt's); never logged."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping

from mailproc.errors import ConfigError

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 30.0


def resolve_secret(
    value_env: str | None,
    command: str | None,
    *,
    setting: str = "secret",
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Resolve a secret from the environment variable named `value_env` or by running `command`.

    `command` is split like a shell line but run without a shell; one trailing newline is
    stripped. None when neither is configured. Errors name `setting` and the variable or
    program, never the secret (nor the command's output).
    """
    env = os.environ if environ is None else environ
    if value_env and command:
        raise ConfigError(f"{setting}: set either {setting}_env or {setting}_command, not both")
    if value_env:
        value = env.get(value_env)
        if not value:
            raise ConfigError(f"{setting}: environment variable {value_env} is not set or empty")
        return value
    if not command:
        return None
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"{setting}_command cannot be parsed: {exc}") from None
    if not argv:
        raise ConfigError(f"{setting}_command is empty")
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ConfigError(f"{setting}_command: program {argv[0]!r} not found") from None
    except PermissionError:
        raise ConfigError(f"{setting}_command: program {argv[0]!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{setting}_command: {argv[0]!r} did not finish within {COMMAND_TIMEOUT:.0f}s") from None
    if proc.returncode != 0:
        # stderr may be useful but could echo the secret; keep only its first line, shortened
        hint = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise ConfigError(
            f"{setting}_command: {argv[0]!r} exited with status {proc.returncode}"
            + (f" ({hint[0][:120]})" if hint else "")
        )
    try:
        value = proc.stdout.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise ConfigError(f"{setting}_command: {argv[0]!r} printed bytes that are not UTF-8") from None
    if not value:
        raise ConfigError(f"{setting}_command: {argv[0]!r} printed nothing")
    log.debug("%s resolved by running %s", setting, argv[0])
    return value
