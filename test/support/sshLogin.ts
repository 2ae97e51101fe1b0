// Connecting to the test sshd the product's way: the harness's generated ssh config entry, its IdentityFile and
// known_hosts, through connectHost. The key is known and unencrypted, so any question is a test failure.
import assert from 'node:assert/strict';
import type { Client } from 'ssh2';
import type { ConnectUi } from '../../src/core/remote/auth';
import { connectHost, type ConnectOptions } from '../../src/core/remote/connection';
import { resolveHost } from '../../src/core/remote/sshConfig';
import { TEST_HOST_ALIAS, type Sshd } from './sshd';

export const neverAsked: ConnectUi = {
  passphrase: async () => assert.fail('no passphrase should be asked'),
  password: async () => assert.fail('no password should be asked'),
  confirmUnknownHost: async () => assert.fail('the host key is in known_hosts'),
};

export function connectTestHost(sshd: Sshd, opts?: ConnectOptions): Promise<Client> {
  return connectHost(resolveHost(TEST_HOST_ALIAS, sshd.sshConfigPath), neverAsked, opts);
}
