import type { CommandType } from "../domain/command-types.ts";
import { isCommandType } from "../domain/command-types.ts";

/** Why a command failed: `code` from billing's error catalogue (e.g. `insufficient_funds`), and a message. */
export interface CommandResultError {
  code: string;
  message: string;
  /** When Stripe refused a request: its HTTP status, error type and codes. */
  stripe?: { status?: number; type?: string; code?: string; declineCode?: string };
}

/** The outcome of one command, as billing publishes it on `billing.events`. */
export interface CommandResult {
  /** The command's id (the event's correlationId). */
  commandId: string;
  status: "succeeded" | "failed";
  /** The command's type, e.g. `deposit.create`. */
  type: CommandType;
  /** What the command produced (e.g. `{ paymentIntentId, status }`); `{}` when it failed. */
  data: Record<string, unknown>;
  /** Why it failed; absent when it succeeded. */
  error?: CommandResultError;
  /** The event's stable id: the same result delivered twice has the same eventId. */
  eventId: string;
  /** ISO 8601 time billing recorded the outcome. */
  occurredAt: string;
}

/** A command.succeeded / command.failed event body as a CommandResult; undefined for anything else. */
export function readCommandResult(body: Buffer): CommandResult | undefined {
  let event: unknown;
  try {
    event = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(event) || !isObject(event.data)) return undefined;
  const { id, type, occurredAt, correlationId, data } = event;
  if (typeof id !== "string" || typeof occurredAt !== "string" || typeof correlationId !== "string") {
    return undefined;
  }
  const commandType = data.commandType;
  if (typeof commandType !== "string" || !isCommandType(commandType)) return undefined;
  if (type === "command.succeeded") {
    const result = isObject(data.result) ? data.result : {};
    return {
      commandId: correlationId,
      status: "succeeded",
      type: commandType,
      data: result,
      eventId: id,
      occurredAt,
    };
  }
  if (type === "command.failed" && isObject(data.error)) {
    const { code, message } = data.error;
    if (typeof code !== "string" || typeof message !== "string") return undefined;
    return {
      commandId: correlationId,
      status: "failed",
      type: commandType,
      data: {},
      error: data.error as unknown as CommandResultError,
      eventId: id,
      occurredAt,
    };
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
