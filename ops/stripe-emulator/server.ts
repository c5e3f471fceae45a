import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import type { ApiContext } from "./api-context.ts";
import { type ControlTarget, handleControl } from "./control.ts";
import { type DeliveryOptions, parseDeliveryOptions } from "./delivery-options.ts";
import type { Emitter, EventSource } from "./emit.ts";
import { expand } from "./expand.ts";
import { createFaultInjector, type FaultInjector, type Faults, parseFaults } from "./faults.ts";
import { decodeForm, type Params } from "./form.ts";
import { errorJson, readBody, sendJson } from "./http-io.ts";
import { createIdempotencyCache } from "./idempotency.ts";
import { newId } from "./ids.ts";
import type { StripeEvent } from "./objects/event.ts";
import { expandParam } from "./params.ts";
import { createRequestLog, type RecordedRequest } from "./request-log.ts";
import type { RawJson } from "./resources/events.ts";
import { matchRoute } from "./router.ts";
import { createStore, type Store } from "./store.ts";
import { invalidRequest, StripeApiError, type StripeErrorBody } from "./stripe-error.ts";
import { createWebhookDelivery, type DeliveryRecord } from "./webhooks.ts";

export type { DeliveryOptions } from "./delivery-options.ts";
export type { FaultRule, Faults } from "./faults.ts";
export type { StripeEvent, StripeObject } from "./objects/event.ts";
export type { RecordedRequest } from "./request-log.ts";
export type { DeliveryRecord, DeliveryStats } from "./webhooks.ts";

/** How to start the emulator. */
export interface StripeEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where signed webhooks go; without it events are only recorded. */
  webhookUrl?: string;
  /** `whsec_…`; a random one when omitted (read it back from `webhookSecret`). */
  webhookSecret?: string;
  /** When set, requests must carry exactly this key; otherwise any `sk_…`/`rk_…` key is accepted. */
  apiKey?: string;
  faults?: Faults;
  delivery?: DeliveryOptions;
  /** Recorded requests kept (oldest dropped first); default 100 000. */
  requestLogCapacity?: number;
  /** Idempotency keys kept (oldest dropped first, and after 24 h); default 200 000. */
  idempotencyCapacity?: number;
}

/** A running emulator. */
export interface StripeEmulator {
  /** Base URL, e.g. http://127.0.0.1:12111 (use it as STRIPE_API_URL). */
  readonly url: string;
  readonly port: number;
  /** The secret webhooks are signed with. */
  readonly webhookSecret: string;
  /** Every event emitted, oldest first, as delivered (parsed from the exact JSON sent). */
  events(): StripeEvent[];
  /** The Stripe API requests received, oldest first. */
  requests(): RecordedRequest[];
  /** One record per event sent (or skipped) to the webhook URL. */
  deliveries(): DeliveryRecord[];
  /** Replaces the fault switches (checked: a bad value throws). */
  setFaults(faults: Faults): void;
  /** Changes the given delivery switches, keeping the others (checked: a bad value throws). */
  setDelivery(options: DeliveryOptions): void;
  /** Resolves when every queued webhook has been delivered or has run out of attempts. */
  deliverPending(): Promise<void>;
  /** Forgets objects, events, requests, idempotency keys, faults and queued deliveries. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the Stripe emulator: a local HTTP server speaking the Stripe API subset billing-fleet uses. */
export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const host = options.host ?? "127.0.0.1";
  const webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString("hex")}`;
  const delivery = createWebhookDelivery({
    url: options.webhookUrl,
    secret: webhookSecret,
    ...(options.delivery === undefined ? {} : { options: parseDeliveryOptions(options.delivery) }),
  });
  const idempotency = createIdempotencyCache(options.idempotencyCapacity);
  const requestLog = createRequestLog(options.requestLogCapacity);
  let store = createStore();
  let faults: FaultInjector = createFaultInjector(parseFaults(options.faults ?? {}));
  // Requests held open by a `hang` fault, ended when the emulator closes.
  const hanging = new Set<ServerResponse>();

  const emitterFor = (source: EventSource): Emitter => ({ store, source, sink: delivery });
  const control: ControlTarget = {
    emitter: () => emitterFor({ requestId: null, idempotencyKey: null }),
    faults: () => faults.current(),
    setFaults: (next) => {
      faults = createFaultInjector(parseFaults(next));
    },
    delivery: () => delivery.options(),
    setDelivery: (next) => delivery.setOptions(parseDeliveryOptions(next)),
    deliverPending: () => delivery.flush(),
    deliveries: () => delivery.log(),
    deliveryStats: () => delivery.stats(),
    requests: () => requestLog.list(),
    reset: () => {
      store = createStore();
      faults = createFaultInjector({});
      idempotency.clear();
      requestLog.clear();
      delivery.reset();
    },
  };

  const api = (
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    query: string,
    body: string,
  ) => {
    const method = request.method ?? "GET";
    const requestId = newId("req");
    const keyHeader = request.headers["idempotency-key"];
    const idempotencyKey = method === "POST" && typeof keyHeader === "string" ? keyHeader : null;
    const version = request.headers["stripe-version"];
    const headers: Record<string, string> = {
      "request-id": requestId,
      "stripe-version": typeof version === "string" ? version : Stripe.API_VERSION,
    };
    if (idempotencyKey !== null) headers["idempotency-key"] = idempotencyKey;
    let params: Params = {};
    const finish = (
      status: number,
      json: string,
      flags: { replayed?: boolean; injectedFault?: boolean } = {},
    ) => {
      requestLog.add({
        method,
        path,
        idempotencyKey,
        params,
        status,
        replayed: flags.replayed === true,
        injectedFault: flags.injectedFault === true,
        at: Date.now(),
      });
      sendJson(response, status, json, headers);
    };
    const fail = (error: StripeApiError) => finish(error.status, errorJson(error.body));

    try {
      const apiKey = authenticate(request.headers.authorization, options.apiKey);
      params = decodeForm(method === "POST" ? body : query);
      const route = matchRoute(method, path);
      if (route === null) {
        throw new StripeApiError(404, {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        });
      }
      const fault = faults.next(path);
      if (fault?.status === "hang") {
        // No answer: the client's timeout is what is being tested. Closing the emulator ends it.
        hanging.add(response);
        response.on("close", () => hanging.delete(response));
        requestLog.add({
          method,
          path,
          idempotencyKey,
          params,
          status: 0,
          replayed: false,
          injectedFault: true,
          at: Date.now(),
        });
        return;
      }
      if (fault?.status === "malformed") {
        finish(200, '{"object":"list","data":[{"id":"evt_', { injectedFault: true });
        return;
      }
      if (fault !== null) {
        if (fault.status === 429) headers["retry-after"] = String(fault.retryAfterS ?? 1);
        else {
          headers["stripe-should-retry"] = "true";
          if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
        }
        finish(fault.status, errorJson(faultBody(fault.status)), { injectedFault: true });
        return;
      }
      const endpoint = `${method} ${path}`;
      if (idempotencyKey !== null) {
        if (idempotencyKey.length > 255) {
          throw invalidRequest("Idempotency keys can be at most 255 characters long.", "Idempotency-Key");
        }
        const seen = idempotency.lookup(apiKey, idempotencyKey, endpoint, params);
        if (seen.kind === "conflict") {
          throw new StripeApiError(400, { type: "idempotency_error", message: seen.message });
        }
        if (seen.kind === "replay") {
          headers["idempotent-replayed"] = "true";
          headers["original-request"] = seen.response.requestId;
          finish(seen.response.status, seen.response.body, { replayed: true });
          return;
        }
      }
      const context: ApiContext = {
        ...emitterFor({ requestId, idempotencyKey }),
        params,
        pathIds: route.pathIds,
      };
      let status = 200;
      let json: string;
      try {
        json = serialize(store, route.operation(context), expandParam(params));
      } catch (error) {
        if (!(error instanceof StripeApiError)) throw error;
        status = error.status;
        json = errorJson(error.body);
      }
      // Stripe saves what an endpoint answered once it began executing; 400s here are validation
      // failures (nothing happened), so a retry runs again.
      if (idempotencyKey !== null && (status < 300 || status === 402)) {
        idempotency.save(apiKey, idempotencyKey, endpoint, params, { status, body: json, requestId });
      }
      finish(status, json);
    } catch (error) {
      if (error instanceof StripeApiError) {
        fail(error);
        return;
      }
      console.error(`stripe-emulator: ${method} ${path} failed`, error);
      fail(new StripeApiError(500, internalError()));
    }
  };

  const server = http.createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      console.error("stripe-emulator: request failed", error);
      if (!response.headersSent) sendJson(response, 500, errorJson(internalError()));
      else response.destroy();
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = new URL(request.url ?? "/", "http://emulator");
    const path = target.pathname;
    const body = await readBody(request);
    if (body === null) {
      sendJson(
        response,
        413,
        errorJson({ type: "invalid_request_error", message: "Request body too large." }),
      );
      return;
    }
    if (path.startsWith("/_emulator/")) {
      try {
        const answer = await handleControl(control, request.method ?? "GET", path, body);
        if (answer === null) {
          sendJson(
            response,
            404,
            errorJson({ type: "invalid_request_error", message: `No emulator endpoint ${path}` }),
          );
        } else sendJson(response, 200, JSON.stringify(answer));
      } catch (error) {
        if (!(error instanceof StripeApiError)) throw error;
        sendJson(response, error.status, errorJson(error.body));
      }
      return;
    }
    api(request, response, path, target.search.slice(1), body);
  }

  // Longer than clients keep idle sockets, so the server rarely closes one a client is about to reuse.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    webhookSecret,
    events: () => store.events.map((record) => JSON.parse(record.json) as StripeEvent),
    requests: () => requestLog.list(),
    deliveries: () => delivery.log(),
    setFaults: (next) => control.setFaults(next),
    setDelivery: (next) => control.setDelivery(next),
    deliverPending: () => delivery.flush(),
    reset: () => control.reset(),
    close() {
      closing ??= (async () => {
        await delivery.close();
        for (const response of hanging) response.destroy();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** The key the request authenticates with (Bearer, or Basic with the key as user), or a 401 like Stripe's. */
function authenticate(header: string | undefined, required: string | undefined): string {
  const key = keyFrom(header);
  if (key === null) {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    });
  }
  const valid = required === undefined ? /^(sk|rk)_[A-Za-z0-9_]+$/.test(key) : key === required;
  if (!valid) {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${redact(key)}`,
    });
  }
  return key;
}

function keyFrom(header: string | undefined): string | null {
  if (header === undefined) return null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer !== null) return bearer[1] ?? null;
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic === null) return null;
  const user = Buffer.from(basic[1] ?? "", "base64")
    .toString("utf8")
    .split(":")[0];
  return user === undefined || user === "" ? null : user;
}

function redact(key: string): string {
  return key.length <= 12
    ? "*".repeat(key.length)
    : `${key.slice(0, 8)}${"*".repeat(key.length - 12)}${key.slice(-4)}`;
}

function serialize(store: Store, body: object, expandPaths: readonly string[]): string {
  if (isRawJson(body)) return body.rawJson;
  return JSON.stringify(expand(store, body, expandPaths));
}

function isRawJson(body: object): body is RawJson {
  return typeof (body as Partial<RawJson>).rawJson === "string";
}

function faultBody(status: 500 | 429 | 503): StripeErrorBody {
  if (status === 429) {
    return {
      type: "invalid_request_error",
      code: "rate_limit",
      message:
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
    };
  }
  return {
    type: "api_error",
    message: `Injected fault: the emulator answered ${status} before doing anything.`,
  };
}

function internalError(): StripeErrorBody {
  return { type: "api_error", message: "The emulator failed to handle this request." };
}
