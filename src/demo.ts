// `npm run demo`: the main job in one command, through the same agent server and client as the extension.
// Builds the tiny model, starts a LoRA run of the sample config on the local agent, shows live progress,
// then compares the base model with every checkpoint on held-out prompts.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentClient } from './core/agent/client';
import { defaultPython, ensureLocalAgent } from './core/host/localAgent';
import type { AgentEvent } from './core/protocol/messages';
import { formatDuration, formatNumber, progressBar, renderTable } from './cli/format';
import { readHeldout } from './cli/heldout';
import { exactMatch, exactMatchRate } from './cli/score';

const repo = resolve(__dirname, '..');

interface Options { root: string; config: string; heldout: string; python: string; makeTinyModel: boolean }

const SAMPLE_CONFIG = join(repo, 'samples', 'sentiment.tunelab.yaml');

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    // The extension's default root too, so the demo's run shows up in VS Code's Runs view.
    root: process.env.TUNELAB_ROOT ?? join(homedir(), '.tunelab'),
    config: SAMPLE_CONFIG,
    heldout: join(repo, 'samples', 'sentiment', 'heldout.jsonl'),
    python: process.env.TUNELAB_PYTHON ?? defaultPython(repo),
    makeTinyModel: false,
  };
  const withValue: Record<string, (v: string) => void> = {
    '--root': (v) => (opts.root = resolve(v)),
    '--config': (v) => (opts.config = resolve(v)),
    '--heldout': (v) => (opts.heldout = resolve(v)),
    '--python': (v) => (opts.python = resolve(v)),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag in withValue) {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value (see --help)`);
      withValue[flag](value);
    } else if (flag === '--make-tiny-model') {
      opts.makeTinyModel = true;
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm run demo -- [--config FILE.tunelab.yaml] [--heldout FILE.jsonl] [--root AGENT_ROOT] [--python PYTHON] [--make-tiny-model]\n'
        + '  --make-tiny-model  build a tiny random model where the config\'s model folder is missing (always done for the sample config)');
      process.exit(0);
    } else {
      throw new Error(`unknown argument "${flag}" (see --help)`);
    }
  }
  return opts;
}

function runPython(python: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(python, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`${python} ${args.join(' ')} exited with ${code}`))));
  });
}

/** The sample config names a local tiny model; build it on first use (no download is possible or needed). */
async function ensureTinyModel(opts: Options): Promise<void> {
  const config = parseYaml(readFileSync(opts.config, 'utf8')) as { model?: string; dataset?: { train?: string } };
  if (!config.model || !config.dataset?.train) throw new Error(`${opts.config}: needs "model" and "dataset.train"`);
  const modelDir = resolve(dirname(opts.config), config.model);
  // Only where asked: a typo in a real config's model path must not quietly turn into a random model.
  if (existsSync(join(modelDir, 'config.json')) || !(opts.makeTinyModel || opts.config === SAMPLE_CONFIG)) return;
  console.log(`demo: building the tiny base model in ${modelDir} (local, no download)`);
  // 256 wide and 4 deep: big enough to learn the sample task in about 300 steps, small enough for 2 CPU cores.
  await runPython(opts.python, ['-m', 'tunelab_agent', 'make-tiny-model', modelDir,
    '--corpus', resolve(dirname(opts.config), config.dataset.train), '--hidden', '256', '--layers', '4']);
}

class ProgressView {
  private readonly tty = process.stdout.isTTY;
  private lastPrinted = -1;
  private lineOpen = false;
  firstLoss: number | null = null;
  lastLoss: number | null = null;

  metrics(d: Extract<AgentEvent, { kind: 'metrics' }>['data']): void {
    if (d.loss != null) {
      this.firstLoss ??= d.loss;
      this.lastLoss = d.loss;
    }
    const line = `step ${String(d.step).padStart(4)}/${d.max_steps} ${progressBar(d.step, d.max_steps)} `
      + `loss ${formatNumber(d.loss)}  lr ${formatNumber(d.learning_rate)}  grad ${formatNumber(d.grad_norm, 3)}  `
      + `${formatNumber(d.tokens_per_sec, 0)} tok/s  ETA ${formatDuration(d.eta_s)}`;
    if (this.tty) {
      process.stdout.write(`\r\x1b[2K${line}`);
      this.lineOpen = true;
    } else if (d.step === d.max_steps || d.step - this.lastPrinted >= Math.max(1, Math.floor(d.max_steps / 20))) {
      console.log(line);
      this.lastPrinted = d.step;
    }
  }

  note(text: string): void {
    if (this.lineOpen) process.stdout.write('\n');
    this.lineOpen = false;
    console.log(text);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(opts.python)) {
    throw new Error(`no agent Python at ${opts.python}: run "npm run setup" first (npm run demo does this for you)`);
  }
  await ensureTinyModel(opts);

  const endpoint = () => ensureLocalAgent({ python: opts.python, root: opts.root, dataDirs: [repo, dirname(opts.config)] });
  const client = new AgentClient({ endpoint, clientName: 'tunelab-demo/0.1.0' });
  client.onState((s) => {
    if (s.kind === 'reconnecting') console.log(`\ndemo: link to the agent dropped (${s.reason}); reconnecting`);
  });
  await client.connect();

  const view = new ProgressView();
  let runId: string | null = null;
  const early: AgentEvent[] = [];
  let finish!: (state: string, error?: string) => void;
  const finished = new Promise<{ state: string; error?: string }>((ok) => { finish = (state, error) => ok({ state, error }); });

  const handle = (e: AgentEvent) => {
    if (e.kind === 'metrics') view.metrics(e.data);
    else if (e.kind === 'eval') view.note(`eval at step ${e.data.step}: eval loss ${formatNumber(e.data.eval_loss)}`);
    else if (e.kind === 'checkpoint') view.note(`saved ${e.data.name} (${e.data.files.length} files, sha256 in manifest)`);
    else if (e.kind === 'log' && e.data.level !== 'info') view.note(`${e.data.level}: ${e.data.message}`);
    else if (e.kind === 'run_state') {
      if (e.data.state === 'running') view.note(`training started (${e.data.max_steps ?? '?'} steps)`);
      if (['completed', 'failed', 'stopped'].includes(e.data.state)) finish(e.data.state, e.data.error);
    }
  };
  client.onEvent((e) => {
    if (runId === null) early.push(e);
    else if (e.run_id === runId) handle(e);
  });
  await client.subscribe(0);

  const configText = readFileSync(opts.config, 'utf8');
  console.log(`demo: starting a LoRA run of ${opts.config}`);
  const started = Date.now();
  const { run_id } = await client.request('start_run', { config: configText, config_path: opts.config });
  runId = run_id;
  console.log(`demo: run ${run_id} (agent root ${opts.root})`);
  early.filter((e) => e.run_id === run_id).forEach(handle);

  process.once('SIGINT', () => {
    view.note('demo: stopping the run (Ctrl-C)');
    client.request('stop_run', { run_id }).catch(() => undefined);
  });

  const outcome = await finished;
  const trainSeconds = (Date.now() - started) / 1000;
  view.note(`run ${outcome.state} in ${formatDuration(trainSeconds)}`);
  if (outcome.state !== 'completed') {
    client.dispose();
    throw new Error(`the run ${outcome.state}${outcome.error ? `: ${outcome.error}` : ''}`);
  }

  const { checkpoints } = await client.request('list_checkpoints', { run_id });
  const columns: Array<string | null> = [null, ...checkpoints.sort((a, b) => a.step - b.step).map((c) => c.name)];
  const prompts = readHeldout(opts.heldout);
  const answers = new Map<string | null, string[]>(columns.map((c) => [c, []]));
  // One request per prompt decodes the base model and every checkpoint side by side in one batch.
  const adapters = columns.map((c) => c ?? 'base');
  for (const [i, p] of prompts.entries()) {
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2Kdemo: generating with base + ${columns.length - 1} checkpoints: ${i + 1}/${prompts.length}`);
    const { results } = await client.request('generate', {
      run_id, adapters, messages: [{ role: 'user', content: p.prompt }], sampling: { max_new_tokens: 16, temperature: 0 }, stream: false,
    }, 120_000);
    for (const [j, c] of columns.entries()) answers.get(c)!.push(results.find((r) => r.adapter === adapters[j])?.text ?? '');
  }
  if (!process.stdout.isTTY) console.log(`demo: generated ${prompts.length} answers with base + ${columns.length - 1} checkpoints`);
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');

  const header = ['#', 'held-out prompt', 'expected', ...columns.map((c) => c ?? 'base')];
  const shown = prompts.slice(0, 12).map((p, i) => [
    String(i + 1), p.prompt.split('\n').pop() ?? p.prompt, p.expected,
    ...columns.map((c) => `${exactMatch(answers.get(c)![i], p.expected) ? '✓' : '✗'} ${answers.get(c)![i]}`),
  ]);
  const scores = columns.map((c) => exactMatchRate(prompts.map((p, i) => ({ predicted: answers.get(c)![i], expected: p.expected }))));
  const scoreRow = ['', `exact match on all ${prompts.length} held-out prompts`, '', ...scores.map((s) => `${(s * 100).toFixed(0)}%`)];
  console.log(`\n${renderTable([header, ...shown, scoreRow], [3, 48, 10, ...columns.map(() => 16)])}`);
  console.log(`\ntraining: ${formatDuration(trainSeconds)}, loss ${formatNumber(view.firstLoss)} → ${formatNumber(view.lastLoss)}; `
    + `exact match: base ${(scores[0] * 100).toFixed(0)}% → ${columns.at(-1)} ${(scores.at(-1)! * 100).toFixed(0)}%`);
  console.log(`The run stays in ${opts.root}; open VS Code with Tunelab to see it in the Runs view.`);
  console.log(`The agent server keeps serving that folder for VS Code (pid ${agentPidOf(opts.root) ?? '?'}, listed in ${join(opts.root, 'agent.json')}).`);
  client.dispose();
}

function agentPidOf(root: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

main().catch((e: Error) => {
  console.error(`\ndemo failed: ${e.message}`);
  process.exit(1);
});
