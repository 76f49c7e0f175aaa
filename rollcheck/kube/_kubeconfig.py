"""Load cluster credentials as kubectl does, failing with messages that name the file and context but never
quote what is in them (tokens, keys)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.config.config_exception import ConfigException

from .._errors import truncate
from ._errors import KubeconfigError

__all__ = ["load_in_cluster", "load_kubeconfig"]


def load_in_cluster(configuration: client.Configuration) -> None:
    """Fill `configuration` from the pod's service account (token, CA, KUBERNETES_SERVICE_HOST/PORT)."""
    try:
        kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as error:
        raise KubeconfigError(f"in-cluster service account could not be loaded: {error}") from None


def load_kubeconfig(
    configuration: client.Configuration, path: Path | None, environment: str, context: str | None
) -> None:
    """Fill `configuration` from `path`, else from `environment` ($KUBECONFIG: files joined by os.pathsep),
    else from ~/.kube/config, using `context` or the file's current context."""
    if path is not None:
        if not path.is_file():
            raise KubeconfigError(f"kubeconfig {path} does not exist")
        source = str(path)
    elif environment:
        files = [Path(p).expanduser() for p in environment.split(os.pathsep) if p]
        if not any(f.is_file() for f in files):
            raise KubeconfigError(f"no kubeconfig: none of the files in $KUBECONFIG exist ({environment})")
        source = environment
    else:
        default = Path("~/.kube/config").expanduser()
        if not default.is_file():
            raise KubeconfigError(
                f"no kubeconfig: {default} does not exist, $KUBECONFIG is not set and this is not a pod"
            )
        source = str(default)
    where = f"kubeconfig {source}" + (f", context {context!r}" if context else "")
    try:
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            # persist_config=False: a refreshed token must never be written back into the user's file.
            config_file=source,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except yaml.YAMLError as error:
        # The YAML parser quotes the offending line, which may hold a token: report the line number only.
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise KubeconfigError(f"{where}: not valid YAML{line}") from None
    except ConfigException as error:
        message = truncate(str(error))
        if context and f"name {context} in " in message and message.endswith("/contexts list"):
            raise KubeconfigError(f"{where}: there is no context {context!r} in the file") from None
        raise KubeconfigError(f"{where}: {message}") from None
    except OSError as error:
        raise KubeconfigError(f"{where}: could not be read: {error.strerror}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        # Malformed entries (bad base64, wrong types): the library's message may quote the value, so name the type.
        raise KubeconfigError(f"{where}: could not be loaded ({type(error).__name__})") from None
    if not configuration.verify_ssl:
        _warn_once(
            f"{where} sets insecure-skip-tls-verify: the API server's certificate is not checked, so anyone in "
            "between could read the credentials sent to it and act as the cluster"
        )


@functools.cache
def _warn_once(text: str) -> None:
    """On stderr, once per process: a run connects several times (preflight, checks, rollback, Event), and the
    warning belongs in the output whether it runs under pytest or serve, where no logging is set up."""
    sys.stderr.write(f"rollcheck: warning: {text}\n")
    sys.stderr.flush()
