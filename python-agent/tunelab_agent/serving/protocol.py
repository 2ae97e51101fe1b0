"""The wire protocol: the schema shipped with the package, validators, and message builders."""

import json
from functools import lru_cache
from importlib import resources

from jsonschema import Draft7Validator

from .. import PROTOCOL_VERSION, __version__
from ..rundir.eventlog import event_message as event  # noqa: F401  (events are built where they are logged)

CAPABILITIES = ["runs", "events", "checkpoints", "generate", "stream", "control", "resume", "evaluate", "export", "host_info", "preflight",
                "inspect_dataset", "render_sample", "history",  # history: paged list_runs, run_history, delete_run
                "event_batches",  # event_batches: subscribe {batch: true} gets several events per `events` frame
                "append_dataset_row", "format_dataset_row"]


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("tunelab_agent").joinpath("schema/protocol.schema.json").read_text())


@lru_cache(maxsize=None)
def validator(definition: str = "message") -> Draft7Validator:
    """A validator for one definition, e.g. 'event' or 'params/start_run'."""
    root = dict(schema())
    root["$ref"] = f"#/definitions/{definition}"
    return Draft7Validator(root)


def first_error(instance, definition: str) -> str | None:
    """A one-line description of why `instance` does not match, or None when it does."""
    errors = sorted(validator(definition).iter_errors(instance), key=lambda e: len(e.absolute_path))
    if not errors:
        return None
    err = errors[0]
    where = ".".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}" if where else err.message


class ProtocolError(Exception):
    """A request that gets an error response; `code` is one of the schema's error codes."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def server_hello() -> dict:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "agent_version": __version__, "capabilities": CAPABILITIES}


def result(re: int | None, value: dict) -> dict:
    return {"type": "response", "re": re, "result": value}


def error(re: int | None, code: str, message: str) -> dict:
    return {"type": "response", "re": re, "error": {"code": code, "message": message}}


def stream(re: int, kind: str, data: dict) -> dict:
    return {"type": "stream", "re": re, "kind": kind, "data": data}
