// Task scoring for held-out prompts: exact match after normalising case, spacing and end punctuation,
// because a fine-tuned model that answers "Positive." has learnt the task as well as one that says "positive".

export function normaliseAnswer(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.!?]+$/, '');
}

export function exactMatch(predicted: string, expected: string): boolean {
  return normaliseAnswer(predicted) === normaliseAnswer(expected);
}

export function exactMatchRate(pairs: Array<{ predicted: string; expected: string }>): number {
  if (pairs.length === 0) return 0;
  return pairs.filter((p) => exactMatch(p.predicted, p.expected)).length / pairs.length;
}
