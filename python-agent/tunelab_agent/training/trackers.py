"""Optional packages a run config asks for: the experiment trackers people already use (training.report_to),
fed by the Trainer's own integrations, and TRL for training.method dpo/kto.

Tunelab's event stream stays the source for the extension; a tracker only gets a copy of the Trainer's
logs. None of the trackers is installed with the agent, so preflight names the pip package a missing one
needs, and each writes inside the run's folder where it can (TensorBoard to <run>/tensorboard, next to
events.jsonl).
"""

import importlib.util
import os

# report_to name -> (module to import, pip package)
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"),
            "mlflow": ("mlflow", "mlflow"), "trackio": ("trackio", "trackio")}


def missing(report_to: list[str]) -> list[str]:
    """One preflight error per tracker whose package this host's Python cannot import."""
    errors = []
    for name in report_to:
        module, package = PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            errors.append(f"training.report_to: {name} needs the {package} package, which is not installed on this "
                          f"host (pip install {package})")
    return errors


def missing_for_method(method: str) -> list[str]:
    """The preflight error for training.method dpo/kto on a host without TRL (an optional install)."""
    if method != "sft" and importlib.util.find_spec("trl") is None:
        return [f"training.method: {method} trains through TRL, which is not installed on this host "
                "(pip install trl, or pip install 'tunelab-agent[preference]')"]
    return []


def prepare(report_to: list[str], run_dir: str) -> list[str]:
    """Point each tracker at the run's folder (through the variables the Trainer's integrations read)."""
    if "tensorboard" in report_to:
        os.environ["TENSORBOARD_LOGGING_DIR"] = os.path.join(run_dir, "tensorboard")
    if "wandb" in report_to:
        os.environ.setdefault("WANDB_DIR", run_dir)
    if "mlflow" in report_to:
        os.environ.setdefault("MLFLOW_TRACKING_URI", "file:" + os.path.join(run_dir, "mlruns"))
    return list(report_to)
