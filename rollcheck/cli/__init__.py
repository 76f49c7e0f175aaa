"""The `rollcheck` command: `run` the checks against a release, `report` on a finished run, `serve` alerts and
canary webhooks, `--version`.

Usage errors (a bad flag, a bad value from any source, an unreadable report) print one line and exit 4.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from typing import NoReturn

from .._errors import ConfigError
from .._errors import RollcheckError
from .._exitcodes import ExitCode
from .._version import __version__

if TYPE_CHECKING:
    from ._output import Output

__all__ = ["main"]


class CommandLineError(RollcheckError):
    """The command line itself is wrong: an unknown flag, a missing argument, no command."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would exit 2 with the whole usage; rollcheck's usage errors exit 4 with one line.
        raise CommandLineError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    # The commands' modules load settings, serve and the record model: only a parse needs them.
    from ._run import add_run_arguments
    from ._serve import add_serve_arguments

    parser = _Parser(
        prog="rollcheck",
        description="Post-deploy checks as pytest tests, and a kubectl-exact rollback when the release is bad.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        help="run the checks against a release; roll it back if they fail",
        description="Run the checks against a release and roll it back if they fail. Every flag can also be "
        "set as ROLLCHECK_<NAME> or in [tool.rollcheck]; the command line wins.",
        usage="%(prog)s [OPTIONS] [PATH ...] [-- PYTEST_ARGS ...]",
    )
    add_run_arguments(run_parser)
    report_parser = commands.add_parser("report", help="summarise a finished run's report.json")
    report_parser.add_argument("path", metavar="PATH", type=Path, help="report.json, or the directory holding it")
    serve_parser = commands.add_parser(
        "serve",
        help="receive Alertmanager alerts and roll back; gate Flagger canaries",
        description="An HTTP receiver: POST /alertmanager rolls back the workload a firing alert names, "
        "POST /flagger/check answers a Flagger webhook with a check suite's verdict.",
    )
    add_serve_arguments(serve_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:
        # Answered before any command's module (or the output helper) is imported: a pipeline asks this to see
        # what it installed, and the answer needs none of them.
        sys.stdout.write(f"rollcheck {__version__}\n")
        sys.stdout.flush()
        return ExitCode.PASSED
    from ._output import Output

    out = Output.to(sys.stdout, os.environ)
    err = Output.to(sys.stderr, os.environ)
    try:
        return _dispatch(arguments, out, err)
    except (ConfigError, CommandLineError) as error:
        err.error(str(error))
        return ExitCode.USAGE_ERROR


def _dispatch(arguments: list[str], out: Output, err: Output) -> int:
    # Everything after the first `--` goes to pytest untouched; argparse would take it for paths.
    extra: list[str] = []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, extra = arguments[:split], arguments[split + 1 :]
    try:
        parsed = _parser().parse_args(arguments)
    except SystemExit as exit_request:  # --help: argparse has printed it
        return int(exit_request.code or 0)
    if parsed.version:
        out.line(f"rollcheck {__version__}")
        return ExitCode.PASSED
    if parsed.command is None:
        raise CommandLineError("choose a command, run, report or serve (see rollcheck --help)")
    if extra and parsed.command != "run":
        raise CommandLineError(f"arguments after -- go to pytest, so they only apply to run, not {parsed.command}")
    if parsed.command == "report":
        from ._report import report

        return report(parsed.path, out)
    if parsed.command == "serve":
        from ._serve import serve

        return serve(parsed, out, err)
    from ._run import run

    return run(parsed, extra, out, err)
