import type { LetterFilter } from "../../lib/ops/letter-selection.ts";
import { durationOption, stringOption } from "./option-values.ts";
import type { Options, Values } from "./verb.ts";

// The filter options shared by `dlq list` and `dlq replay`: by type, by error text, by age.

export const filterOptions: Options = {
  type: { type: "string" },
  error: { type: "string" },
  since: { type: "string" },
};

export const filterHelp = [
  "  --type T          only messages of type T (exact, e.g. payment_intent.succeeded)",
  "  --error TEXT      only letters whose error contains TEXT (case-insensitive)",
  "  --since DURATION  only letters that failed within DURATION (30m, 12h, 3d)",
].join("\n");

/** Reads --type, --error and --since. */
export function readFilter(values: Values): LetterFilter {
  return {
    type: stringOption(values, "type"),
    errorText: stringOption(values, "error"),
    sinceMs: durationOption(values, "since"),
  };
}
