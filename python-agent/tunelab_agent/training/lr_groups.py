"""Layer-wise learning rates: the config's `layer_lr` patterns turned into optimizer parameter groups.

Fine-tuning guides give the layers different learning rates (say attention of layers 4-6 at 1e-5,
MLP of layers 7-12 at 5e-6, everything else at the base rate). Each `layer_lr` entry is a regex
searched in the names of the TRAINABLE parameters; the first entry that matches a parameter owns
it, and whatever no entry matches trains at the base rate in a group called "default".

Groups hold parameter NAMES, not tensors: FSDP hands the optimizer a wrapped model whose
parameters are other objects, so the optimizer looks the names up on the model it is given
(see `optimizer_param_groups`).
"""

import re
from dataclasses import dataclass, field

from .run_config import ConfigError

DEFAULT = "default"

# Biases, norms and other vectors (DoRA magnitudes, norm scales) are not decayed: decay is meant to
# shrink weight matrices, and shrinking a scale or an offset only moves the function, it does not
# regularise it. Same rule as nanoGPT (dim >= 2 decays) plus the names transformers exempts.
NO_DECAY_NAME = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")

# Wrappers (DDP, FSDP, activation checkpointing, torch.compile) add these to parameter names.
WRAPPER_PREFIX = re.compile(r"(?:^|(?<=\.))(?:module|_fsdp_wrapped_module|_checkpoint_wrapped_module|_orig_mod)\.")


@dataclass
class Group:
    name: str
    pattern: str | None  # None for the default group
    learning_rate: float
    decay: list[str] = field(default_factory=list)     # parameter names trained with weight decay
    no_decay: list[str] = field(default_factory=list)  # ... and without
    parameters: int = 0                                # element count of all of them

    @property
    def tensors(self) -> int:
        return len(self.decay) + len(self.no_decay)


def clean_name(name: str) -> str:
    """A parameter's name as the bare (peft) model reports it, whatever wraps the model."""
    return WRAPPER_PREFIX.sub("", name)


def wants_decay(name: str, param) -> bool:
    return param.ndim >= 2 and not NO_DECAY_NAME.search(name.lower())


def resolve_groups(model, layer_lr: list[dict], base_lr: float, weight_decay: float) -> tuple[list[Group], list[str]]:
    """One Group per `layer_lr` entry (in config order) plus "default"; returns (groups, warnings).

    Raises ConfigError naming `layer_lr.<i>.pattern` for a bad regex and `layer_lr.<i>.name`
    for a duplicate name. A pattern that matches no trainable parameter is not an error (the
    same config may serve models of different depth) but earns a warning.
    """
    groups, compiled = [], []
    for i, entry in enumerate(layer_lr or []):
        try:
            compiled.append(re.compile(entry["pattern"]))
        except re.error as exc:
            raise ConfigError(f"layer_lr.{i}.pattern: {entry['pattern']!r} is not a valid regular expression ({exc})") from None
        name = entry.get("name") or entry["pattern"]
        if name == DEFAULT or any(g.name == name for g in groups):
            raise ConfigError(f"layer_lr.{i}.name: the group name {name!r} is already used; give each group its own name")
        groups.append(Group(name, entry["pattern"], float(entry["learning_rate"])))
    default = Group(DEFAULT, None, float(base_lr))

    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        name = clean_name(name)
        owner = next((g for g, rx in zip(groups, compiled) if rx.search(name)), default)
        (owner.decay if weight_decay > 0 and wants_decay(name, param) else owner.no_decay).append(name)
        owner.parameters += param.numel()

    warnings = [f"layer_lr.{i}.pattern: {g.pattern!r} matches no trainable parameter; the group is empty"
                for i, g in enumerate(groups) if g.tensors == 0]
    return groups + [default], warnings


def describe(groups: list[Group]) -> list[dict]:
    """The `param_groups` event: one row per configured group (empty ones too) and the default."""
    return [{"name": g.name, "pattern": g.pattern, "learning_rate": g.learning_rate,
             "tensors": g.tensors, "parameters": g.parameters} for g in groups]


def optimizer_param_groups(groups: list[Group], model, weight_decay: float) -> list[dict]:
    """torch.optim param-group dicts; a configured group becomes up to two (with and without decay).

    Each dict keeps the group's name so the learning rates can be reported per group; the LR
    scheduler multiplies every group's own lr by the same factor, so the ratios stay as configured.
    The default group comes first: the Trainer logs the first group's rate as "learning_rate".
    """
    by_name = {clean_name(n): p for n, p in model.named_parameters() if p.requires_grad}
    wanted = {n for g in groups for n in g.decay + g.no_decay}
    if wanted != set(by_name):
        missing, extra = sorted(wanted - set(by_name)), sorted(set(by_name) - wanted)
        raise ValueError(f"the LR groups were resolved on another model: {len(missing)} grouped parameters are not "
                         f"trainable here (e.g. {missing[:2]}), {len(extra)} trainable ones are in no group (e.g. {extra[:2]})")
    param_groups = []
    for g in sorted(groups, key=lambda g: g.name != DEFAULT):
        for names, decay in ((g.decay, weight_decay), (g.no_decay, 0.0)):
            if names:
                param_groups.append({"params": [by_name[n] for n in names], "lr": g.learning_rate,
                                     "weight_decay": decay, "name": g.name})
    return param_groups
