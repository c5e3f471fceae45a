import { readFileSync } from "node:fs";

/** One Procfile line: the program and its arguments (no shell: the Procfile's commands need none). */
export interface ProcfileCommand {
  readonly program: string;
  readonly args: readonly string[];
}

/** Parses Procfile text into commands by process name; blank lines and `#` comments are skipped. */
export function parseProcfile(text: string): ReadonlyMap<string, ProcfileCommand> {
  const commands = new Map<string, ProcfileCommand>();
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z0-9_-]+):\s*(\S.*)$/.exec(line);
    if (match === null) throw new Error(`Procfile line ${index + 1} is not "name: command"`);
    const [program, ...args] = (match[2] ?? "").split(/\s+/);
    if (program === undefined) throw new Error(`Procfile line ${index + 1} has no command`);
    commands.set(match[1] ?? "", { program, args });
  }
  return commands;
}

/** The repository's Procfile, parsed. */
export function readProcfile(root: string): ReadonlyMap<string, ProcfileCommand> {
  return parseProcfile(readFileSync(`${root}/Procfile`, "utf8"));
}
