// An output channel that appears in the Output view only once something is written to it or it is shown:
// "Tunelab: Remote Agent Install" belongs there only after a remote install has started.
import * as vscode from 'vscode';

export function lazyOutputChannel(name: string): vscode.OutputChannel {
  let channel: vscode.OutputChannel | undefined;
  const real = () => (channel ??= vscode.window.createOutputChannel(name));
  return new Proxy({} as vscode.OutputChannel, {
    get(_target, prop) {
      if (prop === 'name') return name;
      // Disposing a channel that was never made makes nothing.
      if (prop === 'dispose') return () => channel?.dispose();
      const value = Reflect.get(real(), prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(channel) : value;
    },
  });
}
