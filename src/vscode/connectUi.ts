// The questions an SSH login asks, answered in VS Code: passphrases and passwords in password input boxes,
// unknown host keys in a modal dialog. An answer that worked is kept in SecretStorage only when the person
// says so; nothing secret ever goes to settings or files.
import * as vscode from 'vscode';
import type { ConnectUi } from '../core/remote/auth';
import type { OtherKnownKey } from '../core/remote/knownHosts';

export const SECRET_KEYS_INDEX = 'tunelab.ssh.savedSecrets';
export const TRUST_HOST_BUTTON = 'Trust Host and Connect';
const SAVE = 'Save';
const NOT_NOW = 'Not Now';

const passphraseKey = (keyPath: string) => `tunelab.ssh.passphrase:${keyPath}`;
const passwordKey = (user: string, host: string) => `tunelab.ssh.password:${user}@${host}`;

/** Keyboard-interactive also asks for one-time codes and user names; only password prompts are worth keeping. */
const isPasswordPrompt = (prompt: string, echo: boolean) => !echo && /password|passphrase/i.test(prompt);

export class VscodeConnectUi implements ConnectUi {
  /** Typed answers waiting to be proved right before they may be offered for saving. */
  private readonly typed = new Map<string, string>();

  constructor(
    private readonly hostName: string,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async passphrase(keyPath: string, info: { attempt: number; previousWasWrong: boolean }): Promise<string | undefined> {
    const key = passphraseKey(keyPath);
    if (info.previousWasWrong) await this.forget(key);
    else if (info.attempt === 1) {
      const saved = await this.secrets.get(key);
      if (saved !== undefined) return saved;
    }
    const value = await vscode.window.showInputBox({
      title: `Tunelab: SSH login to ${this.hostName}`,
      prompt: `Passphrase for the key ${keyPath}${info.previousWasWrong ? ' (the last one was wrong)' : ''}`,
      password: true,
      ignoreFocusOut: true,
    });
    if (value !== undefined) this.typed.set(key, value);
    return value;
  }

  async password(prompt: string, info: { user: string; host: string; attempt: number; echo: boolean }): Promise<string | undefined> {
    const keep = isPasswordPrompt(prompt, info.echo);
    const key = passwordKey(info.user, info.host);
    if (keep && info.attempt === 1) {
      const saved = await this.secrets.get(key);
      if (saved !== undefined) return saved;
    }
    if (keep && info.attempt > 1) await this.forget(key);
    const value = await vscode.window.showInputBox({
      title: `Tunelab: SSH login to ${this.hostName} as ${info.user}`,
      prompt: `${prompt}${info.attempt > 1 ? ' (the last answer was refused)' : ''}`,
      password: !info.echo,
      ignoreFocusOut: true,
    });
    if (value !== undefined && keep) this.typed.set(key, value);
    return value;
  }

  async confirmUnknownHost(host: string, fingerprint: string, info: { keyType: string; otherKnownKeys: OtherKnownKey[]; addTo?: string }): Promise<boolean> {
    const others = info.otherKnownKeys.length
      ? `\n\nknown_hosts already lists ${info.otherKnownKeys.map((k) => `a ${k.keyType} key (${k.file}:${k.line})`).join(', ')} for this host, but not this ${info.keyType} key.`
      : '';
    const choice = await vscode.window.showWarningMessage(
      `The authenticity of host "${host}" can't be established.`,
      {
        modal: true,
        detail: `${info.keyType} key fingerprint is ${fingerprint}.${others}\n\nCompare it with the fingerprint your administrator gave you. `
          + `Trusting it adds the key to ${info.addTo ?? '~/.ssh/known_hosts'}.`,
      },
      TRUST_HOST_BUTTON,
    );
    this.log.info(`unknown host key for ${host} (${fingerprint}): ${choice === TRUST_HOST_BUTTON ? 'trusted' : 'not trusted'}`);
    return choice === TRUST_HOST_BUTTON;
  }

  secretWorked(secret: { kind: 'passphrase'; keyPath: string } | { kind: 'password'; user: string; host: string }): void {
    const key = secret.kind === 'passphrase' ? passphraseKey(secret.keyPath) : passwordKey(secret.user, secret.host);
    const value = this.typed.get(key);
    this.typed.delete(key);
    if (value === undefined) return; // it came from SecretStorage already
    const what = secret.kind === 'passphrase' ? `the passphrase of ${secret.keyPath}` : `the password of ${secret.user}@${secret.host}`;
    // Not awaited: the login goes on while the question waits.
    void vscode.window.showInformationMessage(`Tunelab: save ${what} in VS Code's secret storage, so you are not asked again?`, SAVE, NOT_NOW)
      .then(async (choice) => {
        if (choice !== SAVE) return;
        await this.secrets.store(key, value);
        await this.remember(key);
        this.log.info(`saved ${what} in secret storage`);
      });
  }

  private async forget(key: string): Promise<void> {
    await this.secrets.delete(key);
  }

  /** SecretStorage cannot list its keys, so the names (never the values) are kept for Forget Saved Secrets. */
  private async remember(key: string): Promise<void> {
    const names = new Set<string>(JSON.parse((await this.secrets.get(SECRET_KEYS_INDEX)) ?? '[]') as string[]);
    names.add(key);
    await this.secrets.store(SECRET_KEYS_INDEX, JSON.stringify([...names]));
  }
}

/** Deletes every passphrase and password Tunelab saved; returns how many. */
export async function forgetSavedSecrets(secrets: vscode.SecretStorage): Promise<number> {
  const names = JSON.parse((await secrets.get(SECRET_KEYS_INDEX)) ?? '[]') as string[];
  for (const name of names) await secrets.delete(name);
  await secrets.delete(SECRET_KEYS_INDEX);
  return names.length;
}
