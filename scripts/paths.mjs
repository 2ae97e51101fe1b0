// Where the project keeps its own Python environment; shared by setup, test and demo scripts.
import { join } from 'node:path';

export const venvDir = (root) => join(root, 'python-agent', '.venv');
export const agentPython = (root) => join(venvDir(root), 'bin', 'python');
