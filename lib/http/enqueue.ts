import type { Publisher, PublishOptions } from "../amqp/publisher.ts";
import { names } from "../amqp/topology.ts";
import { errorMessage } from "../domain/errors.ts";
import { enqueueDuration } from "../metrics/registry.ts";
import { type Answer, refusal, withDetail } from "./respond.ts";

// The one way the ingester puts a message on the broker: to `billing`, mandatory, resolved only on
// the broker's confirm. At most `maxInFlight` publishes wait for a confirm at once; past that, and
// whenever the broker is down, blocked or silent, the request is refused with 503 + Retry-After.

/** Resolves undefined once the broker confirmed, else the 503 to answer. Never rejects. */
export type Enqueue = (
  route: string,
  routingKey: string,
  content: Buffer,
  options: PublishOptions,
) => Promise<Answer | undefined>;

/** Seconds a caller is asked to wait after a 503: long enough for a reconnect (1 s) and a retry. */
export const brokerRetryAfterS = 5;

const brokerDown = refusal(503, "broker_unavailable", "broker unavailable, retry later", {
  headers: { "retry-after": String(brokerRetryAfterS) },
});
const overloaded = refusal(503, "too_many_in_flight", "too many requests in flight, retry later", {
  headers: { "retry-after": "1" },
});

interface RouteTimers {
  readonly confirmed: { observe(seconds: number): void };
  readonly refused: { observe(seconds: number): void };
}

/** The publishing gate shared by every route: one in-flight count for the whole process. */
export function createEnqueue(publisher: Publisher, maxInFlight: number): Enqueue {
  let inFlight = 0;
  // Labelled children are built (labels validated) once per route, not on every request.
  const timers = new Map<string, RouteTimers>();
  const timersFor = (route: string): RouteTimers => {
    let found = timers.get(route);
    if (found === undefined) {
      found = {
        confirmed: enqueueDuration.labels(route, "confirmed"),
        refused: enqueueDuration.labels(route, "refused"),
      };
      timers.set(route, found);
    }
    return found;
  };

  return async (route, routingKey, content, options) => {
    if (inFlight >= maxInFlight) {
      return withDetail(overloaded, `${inFlight} publishes already await a confirm (cap ${maxInFlight})`);
    }
    const timer = timersFor(route);
    const started = performance.now();
    inFlight += 1;
    try {
      await publisher.publish(names.exchange, routingKey, content, options);
      timer.confirmed.observe((performance.now() - started) / 1000);
      return undefined;
    } catch (error) {
      timer.refused.observe((performance.now() - started) / 1000);
      return withDetail(brokerDown, errorMessage(error));
    } finally {
      inFlight -= 1;
    }
  };
}
