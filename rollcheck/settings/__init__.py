"""settings: one resolver turns flags, pytest options, ROLLCHECK_* variables, [tool.rollcheck] and defaults
into one frozen Settings value."""

from __future__ import annotations

from ._model import SECRET_URL_FILES
from ._model import BaselineMode
from ._model import Direction
from ._model import NotifyOn
from ._model import OnInconclusive
from ._model import Settings
from ._options import OPTIONS
from ._options import OPTIONS_BY_NAME
from ._options import PYTEST_PREFIX
from ._options import Kind
from ._options import Option
from ._parse import format_duration
from ._parse import parse_duration
from ._resolve import ConfigFile
from ._resolve import PrometheusAuth
from ._resolve import find_config_file
from ._resolve import insecure_warning
from ._resolve import resolve
from ._resolve import secrets_from_env
from ._resolve import with_marker_overrides

__all__ = [
    "OPTIONS",
    "OPTIONS_BY_NAME",
    "PYTEST_PREFIX",
    "SECRET_URL_FILES",
    "BaselineMode",
    "ConfigFile",
    "Direction",
    "Kind",
    "NotifyOn",
    "OnInconclusive",
    "Option",
    "PrometheusAuth",
    "Settings",
    "find_config_file",
    "format_duration",
    "insecure_warning",
    "parse_duration",
    "resolve",
    "secrets_from_env",
    "with_marker_overrides",
]
