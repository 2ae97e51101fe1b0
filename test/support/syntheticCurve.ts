// The curves synthetic runs log (tests, benches, and the chart bench's page, which has no Node modules).
// Deterministic, so a value read back can be checked against the step it was logged at.

/** A decaying loss with a wiggle; a resumed segment sits a little lower so the chart tells them apart. */
export const syntheticLoss = (step: number, segment = 0): number => 0.5 + 2 * Math.exp(-step / 2000) + 0.05 * Math.sin(step / 7) - 0.1 * segment;

/** A slowly falling learning rate. */
export const syntheticLr = (step: number): number => 2e-4 * (1 - step / 2_000_000);

export const syntheticEvalLoss = (step: number, segment = 0): number => syntheticLoss(step, segment) + 0.1;
