// What an untrusted workspace gets instead of an agent: a clear refusal.
export const UNTRUSTED_MESSAGE =
  'Tunelab does not start its agent or launch runs in an untrusted workspace. Use "Manage Workspace Trust" to trust this folder first.';
