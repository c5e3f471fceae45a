import { execFile } from "node:child_process";

// rabbitmqctl, the broker's own CLI: it needs no management plugin, only to run where it can reach
// the node (on a broker host, or wrapped: RABBITMQCTL="docker compose exec -T rabbitmq rabbitmqctl").

/** Thrown when rabbitmqctl cannot be run or fails; the message is one line. */
export class RabbitmqctlError extends Error {
  override name = "RabbitmqctlError";
}

const timeoutMs = 30_000;

/** Runs `program args…` (program: RABBITMQCTL split into words), `input` on stdin; resolves with stdout. */
export function rabbitmqctl(
  program: readonly string[],
  args: readonly string[],
  input?: string,
): Promise<string> {
  const [command, ...lead] = program;
  if (command === undefined) return Promise.reject(new RabbitmqctlError("RABBITMQCTL is empty"));
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...lead, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT"
          ? `${command} not found (set RABBITMQCTL to how rabbitmqctl is run here)`
          : firstLine(stderr) || firstLine(stdout) || error.message;
      reject(new RabbitmqctlError(`rabbitmqctl ${args[0] ?? ""}: ${why}`));
    });
    // a command that ends before reading its input closes the pipe: that is its answer, not an error
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? "");
  });
}

/** A list command's rows (`rabbitmqctl -q <list…> --formatter json`). */
export async function rabbitmqctlList<T>(program: readonly string[], args: readonly string[]): Promise<T[]> {
  const out = await rabbitmqctl(program, ["-q", ...args, "--formatter", "json"]);
  try {
    return JSON.parse(out.trim() === "" ? "[]" : out) as T[];
  } catch {
    throw new RabbitmqctlError(`rabbitmqctl ${args[0] ?? ""}: unreadable output: ${firstLine(out)}`);
  }
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "" && !/^(Error:|Listing|Setting|Done)/.test(l)) ??
    text.split("\n")[0]?.trim() ??
    ""
  );
}
