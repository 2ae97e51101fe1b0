// Appending one conversation (or a preference pair) to a JSONL dataset in the file's own format: the chat's
// Promote and Prefer, and the dataset editor's Make a negative. The agent on this machine appends the row itself;
// one on an SSH host cannot read this workspace's files, so it formats the row from the file's first lines and
// reads it back, and the row is appended here.
import { basename } from 'node:path';
import { appendRowLocally, type AppendedRow } from '../core/chat/appendRowLocally';
import type { ChatMessage } from '../core/protocol/messages';
import type { AgentConnection } from './agentConnection';

export async function appendDatasetRow(connection: AgentConnection, path: string, messages: ChatMessage[], answer: string, rejected?: string): Promise<AppendedRow> {
  const client = await connection.connected();
  const pair = rejected === undefined ? {} : { rejected };
  if (!connection.host) return client.request('append_dataset_row', { path, messages, answer, ...pair });
  return appendRowLocally(path, (head) => client.request('format_dataset_row', { file_name: basename(path), head, messages, answer, ...pair }));
}
