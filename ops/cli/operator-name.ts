import { userInfo } from "node:os";

/** Who is running the CLI: the OS user, for replayed_by / purged_by when --by is not given. */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user without a passwd entry has no name; the uid still identifies it.
    return `uid:${process.getuid?.() ?? "unknown"}`;
  }
}
