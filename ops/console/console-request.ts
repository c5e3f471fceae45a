import type { ConsoleUser } from "../../lib/config.ts";
import type { Html } from "./html.ts";

// What a route sees of a request, and what it answers. Routes never write to the socket: the
// server picks HTML or JSON from the same reply, adds the security headers and counts it.

export interface ConsoleRequest {
  readonly method: "GET" | "POST";
  /** The path without a `.json` suffix. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The form of a POST (application/x-www-form-urlencoded); empty for a GET. */
  readonly form: URLSearchParams;
  readonly user: ConsoleUser;
  /** The token this page's forms carry. */
  readonly csrf: string;
}

export type Section = "fleet" | "dead-letters" | "audit";

export type Reply =
  | {
      readonly kind: "view";
      readonly status: number;
      readonly section: Section;
      readonly title: string;
      /** What a script gets (Accept: application/json or a .json suffix). */
      readonly json: unknown;
      /** What a person gets, inside the page layout. */
      readonly body: () => Html;
      /** Seconds between refreshes of the part marked data-refresh. */
      readonly refresh?: number;
    }
  | {
      /** After an action: 303 to `location` for a browser, the JSON itself for a script. */
      readonly kind: "redirect";
      readonly location: string;
      readonly json: unknown;
    };

/** A request that cannot be answered as asked: its status and one line saying why. */
export class Refusal extends Error {
  override name = "Refusal";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}
