"""serve: `rollcheck serve`, a receiver that rolls back on Alertmanager alerts and gates Flagger canaries.

config = ServeConfig(settings=settings, listen=Listen.parse("127.0.0.1:9095"), token=token)
server = build_server(config, sys.stderr)
server.serve_forever()      # shutdown() from another thread stops it
"""

from __future__ import annotations

from ._alerts import Alert
from ._alerts import AlertTarget
from ._alerts import PayloadError
from ._alerts import parse_alertmanager
from ._alerts import resolve_target
from ._config import DEFAULT_LISTEN
from ._config import TOKEN_ENV_VAR
from ._config import Listen
from ._config import ServeConfig
from ._config import load_token
from ._flagger import FlaggerRequest
from ._flagger import parse_flagger
from ._http import ReceiverServer
from ._http import build_server
from ._metrics import ServeMetrics
from ._preload import preload
from ._suite import SuiteOutcome
from ._suite import SuiteResult
from ._suite import run_suite

__all__ = [
    "DEFAULT_LISTEN",
    "TOKEN_ENV_VAR",
    "Alert",
    "AlertTarget",
    "FlaggerRequest",
    "Listen",
    "PayloadError",
    "ReceiverServer",
    "ServeConfig",
    "ServeMetrics",
    "SuiteOutcome",
    "SuiteResult",
    "build_server",
    "load_token",
    "parse_alertmanager",
    "parse_flagger",
    "preload",
    "resolve_target",
    "run_suite",
]
