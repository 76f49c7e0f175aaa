"""`rollcheck serve`: check every flag, bind, say where it listens, serve until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .._errors import ConfigError
from ..serve import DEFAULT_LISTEN
from ..serve import TOKEN_ENV_VAR
from ..serve import Listen
from ..serve import ServeConfig
from ..serve import build_server
from ..serve import load_token
from ..serve import preload
from ..settings import OPTIONS_BY_NAME
from ..settings import find_config_file
from ..settings import parse_duration
from ..settings import resolve
from ..settings._parse import parse_namespace
from ._output import Output

__all__ = ["add_serve_arguments", "serve"]

#: The run options a rollback and its notifications need; the target and namespace come from each alert. The
#: notification URLs themselves are secrets: they come from their files or ROLLCHECK_NOTIFY_*_URL, never argv.
_RUN_OPTIONS = (
    "kubeconfig",
    "context",
    "helm",
    "report_dir",
    "dry_run",
    "rollback",
    "rollout_timeout",
    "on_inconclusive",
    "http_timeout",
    "notify_on",
    "notify_slack_url_file",
    "notify_wecom_url_file",
    "notify_webhook_url_file",
)
#: A stopping receiver waits for rollbacks under way up to --rollout-timeout plus this (the patch, the recovery
#: check, the report and notifications); deploy/serve.yaml's terminationGracePeriodSeconds allows for it.
DRAIN_MARGIN_SECONDS = 60.0


def _listen(text: str) -> Listen:
    try:
        return Listen.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None


def _duration(text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} {error}") from None
    return value


def _positive_duration(text: str) -> float:
    value = _duration(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive duration, for example 10m")
    return value


def _namespace(text: str) -> str:
    try:
        return parse_namespace(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} {error}") from None


def _suite(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r}: no such file or directory")
    return path.resolve()


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", type=_listen, default=Listen.parse(DEFAULT_LISTEN), metavar="HOST:PORT",
        help=f"Where to listen. Default: {DEFAULT_LISTEN}.",
    )  # fmt: skip
    parser.add_argument(
        "--token-file", type=Path, metavar="FILE",
        help=f"File holding the bearer token callers must send (else {TOKEN_ENV_VAR}).",
    )  # fmt: skip
    parser.add_argument(
        "--no-auth", action="store_true",
        help="Accept requests without a token. Anyone who can reach the port can then trigger rollbacks.",
    )  # fmt: skip
    parser.add_argument(
        "--allow-namespace", type=_namespace, action="append", default=[], metavar="NAMESPACE",
        help="Act only on this namespace (repeatable); requests about others get 403 and change nothing.",
    )  # fmt: skip
    parser.add_argument(
        "--cooldown", type=_duration, default=600.0, metavar="DURATION",
        help="After a rollback, ignore further alerts for the same workload this long. Default: 10m.",
    )  # fmt: skip
    parser.add_argument(
        "--verify", type=_suite, metavar="PATH",
        help="Before rolling back, run `rollcheck run --no-rollback PATH` against the workload; if it passes, "
        "the alert is recorded as skipped.",
    )  # fmt: skip
    parser.add_argument(
        "--flagger-suite", type=_suite, metavar="PATH",
        help="The checks POST /flagger/check runs against a canary: 200 when they pass, 412 when they fail; "
        "an inconclusive run follows --on-inconclusive (pass: 200, else 503). Without it the route is 404.",
    )  # fmt: skip
    parser.add_argument(
        "--suite-timeout", type=_positive_duration, default=600.0, metavar="DURATION",
        help="Time limit of one --verify or --flagger-suite run; then it counts as inconclusive. Default: 10m.",
    )  # fmt: skip
    for name in _RUN_OPTIONS:
        flags, kwargs = OPTIONS_BY_NAME[name].argparse_arguments(prefix="--", dest=name, with_short=False)
        parser.add_argument(*flags, **kwargs)


def serve(arguments: argparse.Namespace, out: Output, err: Output) -> int:
    config = _config(arguments)
    if config.token is None:
        err.warning("--no-auth: anyone who can reach this port can trigger rollbacks")
    if config.listen.host not in {"127.0.0.1", "::1", "localhost"} and config.token is None:
        err.warning(f"listening on {config.listen.host} without authentication")
    # The first alert must not wait for the Kubernetes client to load, and full collections must not walk it.
    preload()
    try:
        server = build_server(config, sys.stderr)
    except OSError as error:
        raise ConfigError(
            "--listen", str(config.listen), "command line", f"cannot be bound: {error.strerror}"
        ) from None
    flagger = "POST /flagger/check, " if config.flagger_suite is not None else ""
    out.line(f"rollcheck serve: listening on {server.url} (POST /alertmanager, {flagger}/healthz, /metrics)")
    if config.flagger_suite is None:
        err.line("rollcheck serve: POST /flagger/check is off (404): no --flagger-suite was given")
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the thread serving.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    drain = config.settings.rollout_timeout + DRAIN_MARGIN_SECONDS
    if not server.desk.wait_idle(drain):
        err.warning(f"stopped with rollbacks still running after {drain:g}s; see their reports")
    out.line("rollcheck serve: stopped")
    return 0


def _config(arguments: argparse.Namespace) -> ServeConfig:
    settings = resolve(
        cli={name: getattr(arguments, name) for name in _RUN_OPTIONS},
        environ=os.environ,
        config_file=find_config_file(Path.cwd()),
    )
    token = load_token(arguments.token_file, os.environ)
    if arguments.no_auth and token is not None:
        where = "--token-file" if arguments.token_file else TOKEN_ENV_VAR
        raise ConfigError("--no-auth", True, "command line", f"contradicts the token given by {where}")
    if not arguments.no_auth and token is None:
        problem = (
            f"a bearer token is required: give --token-file FILE or set {TOKEN_ENV_VAR} "
            "(or pass --no-auth to accept unauthenticated requests)"
        )
        raise ConfigError("--token-file", None, "command line", problem)
    namespaces = frozenset(arguments.allow_namespace)
    return ServeConfig(
        settings=settings,
        listen=arguments.listen,
        token=token,
        allow_namespaces=namespaces,
        cooldown=arguments.cooldown,
        verify_suite=arguments.verify,
        flagger_suite=arguments.flagger_suite,
        suite_timeout=arguments.suite_timeout,
    )
