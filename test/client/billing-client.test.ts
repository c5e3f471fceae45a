import amqplib, { type Channel, type ChannelModel } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { names } from "../../lib/amqp/topology.ts";
import {
  type BillingClient,
  type CommandResult,
  connectBillingClient,
  InvalidCommandError,
} from "../../lib/client/index.ts";
import { canonicalJson } from "../../lib/domain/canonical-json.ts";
import { domainEvent } from "../../lib/domain/domain-events.ts";
import { eventMessage } from "../../lib/relay/event-message.ts";
import { testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";

// The client against a real vhost: send publishes the Contract's command message and resolves only
// once the broker confirmed it; invalid commands never leave the process; onResult reads
// command.succeeded / command.failed from billing.events exactly as the relay publishes them.

const vhost = testVhost();
const bare = testVhost();
let connection: ChannelModel;
let channel: Channel;
const clients: BillingClient[] = [];
const errors: Error[] = [];

async function client(options: { service?: string; url?: string } = {}): Promise<BillingClient> {
  const c = await connectBillingClient({
    url: options.url ?? vhost.url,
    service: options.service ?? "shop",
    timeoutMs: 5000,
    onError: (error) => errors.push(error),
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  await vhost.create();
  await bare.create();
  await declareTopologyOnce(vhost.url, [5000]);
  connection = await amqplib.connect(vhost.url);
  channel = await connection.createChannel();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  errors.length = 0;
});
afterAll(async () => {
  await connection.close();
  await vhost.delete();
  await bare.delete();
});

/** Publishes a domain event the way the relay does (same message builder). */
async function publishEvent(event: ReturnType<typeof domainEvent>): Promise<void> {
  const message = eventMessage({
    id: 1,
    event_id: event.id,
    type: event.type,
    correlation_id: event.correlationId,
    payload: event,
    created_at: new Date(event.occurredAt),
  });
  channel.publish(names.events, message.routingKey, message.content, message.options);
}

const succeededEvent = (commandId: string) =>
  domainEvent({
    type: "command.succeeded",
    sourceId: commandId,
    correlationId: commandId,
    occurredAt: "2026-01-02T03:04:05.000Z",
    data: {
      commandId,
      commandType: "deposit.create",
      status: "succeeded",
      result: { paymentIntentId: "pi_1" },
    },
  });

describe("send", () => {
  // The Contract's command message: routing key command.<type>, messageId = id, type, x-source, JSON body.
  it("publishes the command message and resolves after the confirm", async () => {
    const billing = await client({ service: "shop" });
    const command = {
      id: "cmd-1",
      type: "deposit.create",
      accountId: "acct-1",
      amount: 2500,
      currency: "usd",
    } as const;
    await billing.send(command);

    const message = await channel.get(names.queue, { noAck: true });
    if (message === false) throw new Error("no message in billing_queue");
    expect(message.fields).toMatchObject({ exchange: "billing", routingKey: "command.deposit.create" });
    expect(message.properties).toMatchObject({
      messageId: "cmd-1",
      type: "deposit.create",
      contentType: "application/json",
      deliveryMode: 2,
      headers: { "x-source": "shop" },
    });
    expect(JSON.parse(message.content.toString())).toEqual(command);
    // canonical: the same command sent again is the same bytes (billing's inbox absorbs it)
    expect(message.content.toString()).toBe(canonicalJson(command));
  });

  // Field errors are the caller's to fix: rejected before anything is published.
  it("rejects an invalid command with every field error and publishes nothing", async () => {
    const billing = await client();
    const bad = { id: "cmd-2", type: "balance.charge", accountId: "", amount: 1.5, currency: "usd" };
    const error = await billing.send(bad as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidCommandError);
    expect((error as InvalidCommandError).errors).toEqual([
      { field: "accountId", message: "must not be empty" },
      { field: "amount", message: "must be a positive integer in minor units (e.g. 1050 for 10.50)" },
      { field: "reason", message: "required" },
    ]);
    expect((error as Error).message).toContain("accountId: must not be empty");
    expect(await channel.checkQueue(names.queue)).toMatchObject({ messageCount: 0 });
  });

  // Confirmed is not enough: a command that no queue takes is reported, not silently dropped.
  it("rejects when no billing queue is bound on the vhost", async () => {
    const billing = await client({ url: bare.url });
    const error = await billing
      .send({ id: "cmd-3", type: "customer.ensure", accountId: "acct-3" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/no queue takes command\.customer\.ensure/);
  });

  it("refuses to send once closed; close is idempotent", async () => {
    const billing = await client();
    await Promise.all([billing.close(), billing.close()]);
    await expect(billing.send({ id: "cmd-4", type: "customer.ensure", accountId: "a" })).rejects.toThrow(
      /closed/,
    );
  });
});

describe("connectBillingClient", () => {
  it("rejects when the broker cannot be reached in time", async () => {
    const started = Date.now();
    await expect(
      connectBillingClient({ url: "amqp://guest:guest@127.0.0.1:9/", timeoutMs: 500, onError: () => {} }),
    ).rejects.toThrow(/cannot connect to RabbitMQ/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("onResult", () => {
  it("hands over command.succeeded and command.failed with the command id as correlationId", async () => {
    const billing = await client();
    const seen: CommandResult[] = [];
    await billing.onResult((result) => {
      seen.push(result);
    });
    const ok = succeededEvent("cmd-ok");
    await publishEvent(ok);
    await publishEvent(
      domainEvent({
        type: "command.failed",
        sourceId: "cmd-ko",
        correlationId: "cmd-ko",
        occurredAt: new Date(),
        data: {
          commandId: "cmd-ko",
          commandType: "balance.charge",
          status: "failed",
          error: { code: "insufficient_funds", message: "not enough" },
        },
      }),
    );
    // other domain events on billing.events are not results
    await publishEvent(
      domainEvent({
        type: "balance.debited",
        sourceId: "x",
        correlationId: "cmd-ko",
        occurredAt: new Date(),
        data: {},
      }),
    );
    await waitFor(() => seen.length === 2, "two results");
    expect(seen).toEqual([
      {
        commandId: "cmd-ok",
        status: "succeeded",
        type: "deposit.create",
        data: { paymentIntentId: "pi_1" },
        eventId: ok.id,
        occurredAt: "2026-01-02T03:04:05.000Z",
      },
      expect.objectContaining({
        commandId: "cmd-ko",
        status: "failed",
        type: "balance.charge",
        data: {},
        error: { code: "insufficient_funds", message: "not enough" },
      }),
    ]);
    expect(errors).toEqual([]);
  });

  // A durable named queue keeps results while the service is away.
  it("keeps results in a named queue across a stop", async () => {
    const first = await client();
    const subscription = await first.onResult(() => {}, { queue: "shop.billing-results" });
    expect(subscription.queue()).toBe("shop.billing-results");
    await subscription.stop();
    await publishEvent(succeededEvent("while-away"));

    const second = await client();
    const seen: string[] = [];
    await second.onResult((r) => void seen.push(r.commandId), { queue: "shop.billing-results" });
    await waitFor(() => seen.includes("while-away"), "the result published while away");
    await channel.deleteQueue("shop.billing-results");
  });

  // A handler that throws is not the end of the result: it comes again, and onError hears about it.
  it("redelivers a result whose handler threw", async () => {
    const billing = await client();
    let calls = 0;
    await billing.onResult(() => {
      calls += 1;
      if (calls === 1) throw new Error("handler down");
    });
    await publishEvent(succeededEvent("retry-me"));
    await waitFor(() => calls === 2, "the second delivery", 5000);
    expect(errors.map((e) => e.message)).toEqual([
      "billing client: the result handler failed for command retry-me; redelivering",
    ]);
  });

  it("drops (and reports) a malformed message instead of looping on it", async () => {
    const billing = await client();
    const seen: string[] = [];
    await billing.onResult((r) => void seen.push(r.commandId));
    channel.publish(names.events, "command.succeeded", Buffer.from("{oops"), { messageId: "bad" });
    await publishEvent(succeededEvent("after-bad"));
    await waitFor(() => seen.includes("after-bad"), "the good result after the bad one");
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("not a command result")]);
  });
});
