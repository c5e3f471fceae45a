import type { Emitter } from "./emit.ts";
import type { Params } from "./form.ts";

/** What a Stripe API operation gets: the emitter (store, event source, sink), its params and path ids. */
export interface ApiContext extends Emitter {
  readonly params: Params;
  /** The ids captured from the URL, in order (e.g. the `:id` of `/v1/customers/:id`). */
  readonly pathIds: readonly string[];
}

/** An operation: answers with a Stripe object (status 200) or throws a StripeApiError. */
export type Operation = (context: ApiContext) => object;

/** The n-th id captured from the URL. */
export function pathId(context: ApiContext, index = 0): string {
  const id = context.pathIds[index];
  if (id === undefined) throw new Error(`route captured no id at ${index}`);
  return id;
}
