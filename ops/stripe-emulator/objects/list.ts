/** Stripe's list envelope. */
export interface ListObject<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  total_count?: number;
  url: string;
}

/** A list page as Stripe answers `GET /v1/<resource>`. */
export function buildList<T>(url: string, data: T[], hasMore: boolean): ListObject<T> {
  return { object: "list", data, has_more: hasMore, url };
}
