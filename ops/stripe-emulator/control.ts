import type { DeliveryOptions } from "./delivery-options.ts";
import { parseDeliveryOptions } from "./delivery-options.ts";
import type { Emitter } from "./emit.ts";
import type { Faults } from "./faults.ts";
import { parseFaults } from "./faults.ts";
import type { RecordedRequest } from "./request-log.ts";
import { subscriptionOrThrow } from "./resources/subscriptions.ts";
import { endSubscriptionTrial, failSubscriptionPayment, renewSubscription } from "./simulation.ts";
import { invalidRequest } from "./stripe-error.ts";
import type { DeliveryRecord, DeliveryStats } from "./webhooks.ts";

/** What the /_emulator/ endpoints reach inside the running emulator. */
export interface ControlTarget {
  /** An emitter for events with no API request behind them (Stripe's own clock). */
  emitter(): Emitter;
  faults(): Faults;
  setFaults(faults: Faults): void;
  delivery(): DeliveryOptions;
  setDelivery(options: DeliveryOptions): void;
  deliverPending(): Promise<void>;
  deliveries(): DeliveryRecord[];
  deliveryStats(): DeliveryStats;
  requests(): RecordedRequest[];
  reset(): void;
}

const simulations = {
  renew: renewSubscription,
  fail_payment: failSubscriptionPayment,
  trial_end: endSubscriptionTrial,
} as const;

/**
 * Serves the emulator's own endpoints (not Stripe's): subscription clock steps, fault and delivery
 * switches, the request log, reset. Returns the JSON answer, or null for an unknown path.
 */
export async function handleControl(
  target: ControlTarget,
  method: string,
  path: string,
  body: string,
): Promise<object | null> {
  const simulation = /^\/_emulator\/subscriptions\/([^/]+)\/(renew|fail_payment|trial_end)$/.exec(path);
  if (simulation !== null && method === "POST") {
    const emitter = target.emitter();
    const subscription = subscriptionOrThrow(emitter.store, simulation[1] ?? "", "id", 404);
    return simulations[simulation[2] as keyof typeof simulations](emitter, subscription);
  }
  switch (`${method} ${path}`) {
    case "GET /_emulator/faults":
      return { faults: target.faults() };
    case "POST /_emulator/faults":
      target.setFaults(parsed(() => parseFaults(jsonBody(body))));
      return { faults: target.faults() };
    case "GET /_emulator/delivery":
      return { delivery: target.delivery(), stats: target.deliveryStats() };
    case "POST /_emulator/delivery":
      target.setDelivery(parsed(() => parseDeliveryOptions(jsonBody(body))));
      return { delivery: target.delivery(), stats: target.deliveryStats() };
    case "POST /_emulator/deliver":
      await target.deliverPending();
      return { stats: target.deliveryStats() };
    case "GET /_emulator/deliveries":
      return { stats: target.deliveryStats(), data: target.deliveries() };
    case "GET /_emulator/requests":
      return { data: target.requests() };
    case "POST /_emulator/reset":
      target.reset();
      return { reset: true };
    case "GET /_emulator/health":
      return { ok: true };
    default:
      return null;
  }
}

function jsonBody(body: string): unknown {
  if (body.trim() === "") return {};
  try {
    return JSON.parse(body);
  } catch {
    throw new Error("the body is not JSON");
  }
}

function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw invalidRequest(error instanceof Error ? error.message : String(error));
  }
}
