// Reads held-out prompts (Alpaca JSONL) for the demo's base-vs-checkpoint comparison.
import { readFileSync } from 'node:fs';

export interface HeldoutPrompt { line: number; prompt: string; expected: string }

/** The user turn exactly as the agent renders an Alpaca row for training (see the agent's data module). */
export function alpacaUserMessage(instruction: string, input?: string): string {
  return input ? `${instruction}\n\n${input}` : instruction;
}

export function readHeldout(file: string): HeldoutPrompt[] {
  const out: HeldoutPrompt[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (!text.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file} line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const r = row as Record<string, unknown>;
    if (typeof r.instruction !== 'string' || typeof r.output !== 'string') {
      throw new Error(`${file} line ${i + 1}: expected string fields "instruction" and "output"`);
    }
    out.push({ line: i + 1, prompt: alpacaUserMessage(r.instruction, typeof r.input === 'string' ? r.input : undefined), expected: r.output });
  });
  return out;
}
