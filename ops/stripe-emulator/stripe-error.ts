/** The body Stripe answers with on an error (`{error:{type, code, message, param}}`). */
export interface StripeErrorBody {
  type: "invalid_request_error" | "card_error" | "api_error" | "idempotency_error" | "rate_limit_error";
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  [extra: string]: unknown;
}

/** Thrown by a resource to answer with Stripe's error shape; `saved` says whether idempotency keeps it. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;

  constructor(status: number, body: StripeErrorBody) {
    super(body.message);
    this.name = "StripeApiError";
    this.status = status;
    this.body = body;
  }
}

/** 400 invalid_request_error, optionally naming the parameter and a code. */
export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    message,
    ...(code === undefined ? {} : { code }),
    ...(param === undefined ? {} : { param }),
  });
}

/** Stripe's "No such customer: 'cus_x'": 404 when the URL names it, 400 when a parameter does. */
export function resourceMissing(
  resource: string,
  id: string,
  param: string,
  status: 400 | 404,
): StripeApiError {
  return new StripeApiError(status, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${resource}: '${id}'`,
    param,
  });
}
