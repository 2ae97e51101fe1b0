// How a training host and its GPUs read in the Hosts view: link state, agent version, GPUs from host_info.
import type { ConnectionState } from '../agent/client';
import type { Gpu, HostInfo } from '../protocol/messages';
import { sizeText } from '../launch/preflightReport';

/** The link to the selected host's agent; `idle` before a connection, `restricted` in an untrusted workspace. */
export type HostLink = ConnectionState | { kind: 'idle' } | { kind: 'restricted' };

export interface HostLabel {
  description: string;
  tooltip: string;
  icon: { id: string; color?: string };
  /** package.json menus: `host.selected.<link>` for the selected host, `host` for the others. */
  contextValue: string;
}

export interface HostFacts {
  name: string;
  /** "This machine", or where an SSH host is reached (user@host:port). */
  detail: string;
  selected: boolean;
  /** Only the selected host has a link; the others are not connected. */
  link: HostLink | null;
  info: HostInfo | null;
  /** Why host_info failed, if it did. */
  infoError: string | null;
}

export function linkText(link: HostLink): string {
  switch (link.kind) {
    case 'idle': return 'not connected';
    case 'restricted': return 'restricted (untrusted workspace)';
    case 'connecting': return 'connecting…';
    case 'connected': return 'connected';
    case 'reconnecting': return `link lost, retry ${link.attempt}`;
    case 'closed': return 'disconnected';
    case 'failed': return 'failed';
  }
}

const ICONS: Record<HostLink['kind'], HostLabel['icon']> = {
  idle: { id: 'circle-outline' },
  restricted: { id: 'shield' },
  connecting: { id: 'sync~spin' },
  connected: { id: 'pass-filled', color: 'testing.iconPassed' },
  reconnecting: { id: 'sync~spin', color: 'list.warningForeground' },
  closed: { id: 'circle-slash' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

export function describeHost(h: HostFacts): HostLabel {
  if (!h.selected || !h.link) {
    return { description: h.detail, tooltip: `${h.name}\n${h.detail}\nNot selected: select it to train there.`, icon: { id: 'remote' }, contextValue: 'host' };
  }
  const link = h.link;
  const version = link.kind === 'connected' ? `agent ${link.agentVersion}` : '';
  const gpus = h.info ? gpuCount(h.info.gpus) : '';
  // The selected host is the expanded one with the state icon; its row says how the link is and what it has.
  const description = [linkText(link), version, gpus].filter(Boolean).join(' · ');
  const tooltip = [
    `${h.name} (${h.detail}): selected, runs train here`,
    `link: ${linkText(link)}${link.kind === 'failed' ? `: ${link.reason}` : link.kind === 'reconnecting' ? ` (${link.reason})` : ''}`,
    version ? `Tunelab ${version}` : '',
    h.info ? hostInfoLines(h.info).join('\n') : '',
    h.infoError ? `host_info failed: ${h.infoError}` : '',
  ].filter(Boolean).join('\n');
  const state = link.kind === 'connected' ? 'connected' : link.kind === 'failed' || link.kind === 'closed' || link.kind === 'idle' ? 'down' : 'busy';
  return { description, tooltip, icon: ICONS[link.kind], contextValue: `host.selected.${state}` };
}

export function gpuCount(gpus: Gpu[]): string {
  return gpus.length ? `${gpus.length} GPU${gpus.length === 1 ? '' : 's'}` : 'no GPU';
}

/**
 * A GPU row: memory in use of its total and its utilisation (when the host reports it) first, since the sidebar
 * is narrow and those are what move; then its name.
 */
export function describeGpu(g: Gpu): { label: string; description: string; tooltip: string } {
  const used = g.memory_total_mb - g.memory_free_mb;
  const util = g.utilization === null ? '' : `${Math.round(g.utilization)}%`;
  return {
    label: [`GPU ${g.index}: ${sizeText(used)} / ${sizeText(g.memory_total_mb)}`, util].filter(Boolean).join(' · '),
    description: g.name,
    tooltip: [`GPU ${g.index}: ${g.name}`, `memory: ${sizeText(used)} used, ${sizeText(g.memory_free_mb)} free of ${sizeText(g.memory_total_mb)}`,
      g.utilization === null ? 'utilisation: not reported (no NVML)' : `utilisation: ${Math.round(g.utilization)}%`, `bf16: ${g.bf16 ? 'yes' : 'no'}`].join('\n'),
  };
}

/** CPU, RAM, disk and library lines for a host's tooltip and its "no GPU" row. */
export function hostInfoLines(info: HostInfo): string[] {
  const v = info.versions;
  const libs = ['torch', 'cuda', 'transformers', 'peft'].filter((k) => v[k]).map((k) => `${k} ${v[k]}`).join(', ');
  return [
    `${info.cpu_count} CPUs, RAM ${sizeText(info.ram_available_mb)} available of ${sizeText(info.ram_total_mb)}`,
    `disk: ${sizeText(info.disk_free_mb)} free under the agent's root`,
    libs ? `libraries: ${libs}` : '',
  ].filter(Boolean);
}
