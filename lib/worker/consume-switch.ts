import type { ConsumeMessage } from "amqplib";
import type { Broker } from "../amqp/connection.ts";
import type { DeliverySession } from "../amqp/delivery-session.ts";
import { ensureBillingTopology } from "../amqp/ensure-billing-topology.ts";
import { names } from "../amqp/topology.ts";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";

// Whether a channel consumes billing_queue: basic.consume when it opens and whenever the database
// gate opens, basic.cancel when the gate closes (nothing is taken while Postgres is away), and a
// new basic.consume, after declaring the queue again, when the broker cancels the consumer because
// its queue was deleted. What cannot be resumed is left to a reconnect.

/** Turns consuming on and off for one channel's session at a time. */
export interface ConsumeSwitch<S extends { readonly session: DeliverySession }> {
  /** Consumes on `subscription`'s channel; cancels again at once if the gate closed meanwhile. */
  subscribe(subscription: S): Promise<void>;
  /** Follows the gate: consume while it is open, cancel while it is closed. */
  follow(subscription: S | undefined, gateOpen: boolean): void;
}

/** A switch that hands each delivery to `take`. */
export function consumeSwitch<S extends { readonly session: DeliverySession }>(deps: {
  broker: Broker;
  log: Logger;
  retryDelaysMs: readonly number[];
  take: (subscription: S, delivery: ConsumeMessage) => void;
  /** False once `subscription` is not the consumer's current one (its channel was replaced). */
  isCurrent: (subscription: S) => boolean;
  gateOpen: () => boolean;
  stopping: () => boolean;
  /** Deliveries taken and not yet settled, for the log. */
  inFlight: () => number;
  /** What the "consuming" log line says of the settings. */
  settings: Readonly<Record<string, number>>;
}): ConsumeSwitch<S> {
  const { log } = deps;

  const reconnectAfter = (what: string) => (error: unknown) => {
    log.warn({ reason: errorMessage(error) }, `cannot ${what}; reconnecting`);
    if (!deps.stopping()) deps.broker.reconnect();
  };

  function pause(session: DeliverySession): void {
    const tag = session.consumerTag;
    if (tag === undefined) return;
    session.consumerTag = undefined;
    log.debug({ inFlight: deps.inFlight() }, "database unavailable: consumer cancelled");
    session.channel.cancel(tag).catch((error: unknown) => {
      log.warn({ reason: errorMessage(error) }, "cannot cancel the consumer");
    });
  }

  async function subscribe(subscription: S): Promise<void> {
    const { session } = subscription;
    const { consumerTag } = await session.channel.consume(
      names.queue,
      (delivery) => {
        if (delivery === null) onCancelled(subscription);
        else deps.take(subscription, delivery);
      },
      { noAck: false },
    );
    session.consumerTag = consumerTag;
    // the gate may have closed while basic.consume was on its way
    if (!deps.gateOpen()) {
      pause(session);
      return;
    }
    log.info(deps.settings, "consuming billing_queue");
  }

  // The broker cancels a consumer whose queue was deleted: declare it again and resubscribe.
  function onCancelled(subscription: S): void {
    const { session } = subscription;
    session.consumerTag = undefined;
    if (deps.stopping()) return;
    log.warn("RabbitMQ cancelled the consumer; resubscribing");
    setTimeout(() => {
      // while the gate is closed, its opening subscribes again
      if (deps.stopping() || !session.open || !deps.isCurrent(subscription) || !deps.gateOpen()) return;
      ensureBillingTopology(deps.broker, session.channel, deps.retryDelaysMs, log)
        .then(() => subscribe(subscription))
        .catch(reconnectAfter("resubscribe"));
    }, 1000).unref();
  }

  return {
    subscribe,
    follow(subscription, gateOpen) {
      if (deps.stopping() || subscription === undefined || !subscription.session.open) return;
      const subscribed = subscription.session.consumerTag !== undefined;
      if (gateOpen && !subscribed) subscribe(subscription).catch(reconnectAfter("resume consuming"));
      else if (!gateOpen && subscribed) pause(subscription.session);
    },
  };
}
