/** One event's webhook record, as GET /_emulator/deliveries lists it. */
export interface DeliveryRecord {
  eventId: string;
  type: string;
  state: "pending" | "delivered" | "failed" | "skipped" | "dropped";
  attempts: number;
  deliveries: number;
  lastStatus: number | null;
  lastError: string | null;
}

/** An emitted event, as GET /v1/events lists it (only what the demo reads). */
export interface EmittedEvent {
  id: string;
  type: string;
  created: number;
}

export type SimulationStep = "renew" | "fail_payment" | "trial_end";

/** The running Stripe emulator, over HTTP: its own /_emulator/ endpoints and GET /v1/events. */
export interface EmulatorControl {
  simulate(subscriptionId: string, step: SimulationStep): Promise<void>;
  /** Resolves once every queued webhook is delivered (or out of attempts). */
  deliverPending(): Promise<void>;
  deliveries(): Promise<DeliveryRecord[]>;
  /** Every event emitted so far, oldest first. */
  events(): Promise<EmittedEvent[]>;
  /** Changes webhook delivery switches, e.g. `{ dropRate: 0.05 }` to lose 5% of webhooks from now on. */
  setDelivery(options: Record<string, unknown>): Promise<void>;
}

/** Control of the emulator at `baseUrl`, authenticating Stripe API calls with `apiKey`. */
export function emulatorControl(baseUrl: string, apiKey: string): EmulatorControl {
  const call = async (method: "GET" | "POST", path: string, timeoutMs = 30_000): Promise<unknown> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`stripe-emulator ${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  return {
    async simulate(subscriptionId, step) {
      await call("POST", `/_emulator/subscriptions/${encodeURIComponent(subscriptionId)}/${step}`);
    },
    async deliverPending() {
      await call("POST", "/_emulator/deliver", 120_000);
    },
    async deliveries() {
      return ((await call("GET", "/_emulator/deliveries")) as { data: DeliveryRecord[] }).data;
    },
    async setDelivery(options) {
      const response = await fetch(`${baseUrl}/_emulator/delivery`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(options),
        signal: AbortSignal.timeout(30_000),
      });
      if (!response.ok)
        throw new Error(
          `stripe-emulator POST /_emulator/delivery: ${response.status} ${await response.text()}`,
        );
    },
    async events() {
      const all: EmittedEvent[] = [];
      let after: string | undefined;
      for (;;) {
        const query = `limit=100${after === undefined ? "" : `&starting_after=${encodeURIComponent(after)}`}`;
        const page = (await call("GET", `/v1/events?${query}`)) as {
          data: EmittedEvent[];
          has_more: boolean;
        };
        for (const event of page.data) all.push({ id: event.id, type: event.type, created: event.created });
        after = page.data.at(-1)?.id;
        if (!page.has_more || after === undefined) break;
      }
      return all.reverse();
    },
  };
}
