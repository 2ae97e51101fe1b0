"""Pairwise accuracy of a checkpoint over preference pairs: does it prefer the chosen answer?

Two readings, both teacher-forced with the same scoring as `answer_loss` (the answer after the chat
template's generation prompt, its end-of-turn tokens included):

- accuracy: the share of pairs where the checkpoint's implicit DPO reward of the chosen answer beats the
  rejected one's, the reward being log p_checkpoint(answer) - log p_base(answer). This is what training
  logs as rewards/accuracies, so the numbers compare; the base itself scores 0 here (no reward at all).
- likelihood_accuracy: the share of pairs where the checkpoint gives the chosen answer a higher
  log-probability than the rejected one: meaningful for any model, the base included.

`margin` is the mean reward difference (chosen - rejected), in nats, without DPO's beta.
"""

from ..data.formats import read_rows


def preference_pairs(path: str, format: str = "auto") -> list:
    """The preference pairs of an eval file (empty when it holds no pairs)."""
    rows = read_rows(path, format)
    return [s for s in rows.samples if getattr(s, "chosen", None) is not None and getattr(s, "rejected", None)]


def pairwise(service, model_path: str, folder: str | None, pairs: list, cancel=None, on_pair=None) -> dict | None:
    """{"pairs", "accuracy", "likelihood_accuracy", "margin"} over `pairs`; None without pairs or when cancelled."""
    if not pairs:
        return None
    wins, likelier, margins = 0, 0, []
    for done, pair in enumerate(pairs, start=1):
        if cancel is not None and cancel.is_set():
            return None
        logp = {}
        for key in ("chosen", "rejected"):
            answer = getattr(pair, key)
            tuned, _ = service.answer_loss(model_path, folder, pair.prompt, answer)
            base, _ = service.answer_loss(model_path, None, pair.prompt, answer) if folder else (tuned, 0)
            logp[key] = (-tuned, -base)  # answer_loss gives a summed NLL: its negative is log p
        reward = {key: tuned - base for key, (tuned, base) in logp.items()}
        wins += reward["chosen"] > reward["rejected"]
        likelier += logp["chosen"][0] > logp["rejected"][0]
        margins.append(reward["chosen"] - reward["rejected"])
        if on_pair:
            on_pair(done, len(pairs))
    n = len(pairs)
    return {"pairs": n, "accuracy": wins / n, "likelihood_accuracy": likelier / n, "margin": sum(margins) / n}
