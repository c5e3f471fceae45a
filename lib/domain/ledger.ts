// Pure ledger math. A balance is the sum of immutable entries; each entry has a kind and a source
// id unique per kind, which is what makes a credit or debit happen once however often it is asked.

export const ledgerKinds = ["deposit_credit", "refund_debit", "charge_debit"] as const;
export type LedgerKind = (typeof ledgerKinds)[number];

export type LedgerPlan =
  | { ok: true; newBalance: number }
  | { ok: false; reason: "insufficient_funds"; balance: number; amount: number };

/** The balance after crediting `amount` (> 0). */
export function planCredit(balance: number, amount: number): { ok: true; newBalance: number } {
  checkBalance(balance);
  checkAmount(amount);
  return { ok: true, newBalance: checkResult(balance + amount) };
}

/** The balance after debiting `amount` (> 0), refused when it would go below zero unless allowed. */
export function planDebit(
  balance: number,
  amount: number,
  options: { allowNegative: boolean } = { allowNegative: false },
): LedgerPlan {
  checkBalance(balance);
  checkAmount(amount);
  const newBalance = checkResult(balance - amount);
  if (newBalance < 0 && !options.allowNegative) {
    return { ok: false, reason: "insufficient_funds", balance, amount };
  }
  return { ok: true, newBalance };
}

/**
 * What to debit now for a refund whose cumulative amount is `newCumulativeRefunded`, when
 * `alreadyRefunded` was debited before: refunds seen in any order debit max(cumulative) in total.
 */
export function refundDelta(alreadyRefunded: number, newCumulativeRefunded: number): number {
  checkNonNegative(alreadyRefunded, "alreadyRefunded");
  checkNonNegative(newCumulativeRefunded, "newCumulativeRefunded");
  return Math.max(0, newCumulativeRefunded - alreadyRefunded);
}

/** The signed entry amount: credits positive, debits negative. */
export function ledgerEntryAmount(kind: LedgerKind, amount: number): number {
  checkAmount(amount);
  return kind === "deposit_credit" ? amount : -amount;
}

interface SourceParts {
  deposit_credit: [paymentIntentId: string];
  refund_debit: [paymentIntentId: string, cumulativeRefunded: number];
  charge_debit: [commandId: string];
}

/** The deterministic source id of an entry: the same cause always yields the same id. */
export function ledgerSourceId<K extends LedgerKind>(kind: K, ...parts: SourceParts[K]): string {
  for (const part of parts) {
    const valid = typeof part === "string" ? part.length > 0 : Number.isSafeInteger(part) && part > 0;
    if (!valid) throw new RangeError(`ledgerSourceId(${kind}): invalid part ${JSON.stringify(part)}`);
  }
  if (kind === "refund_debit") {
    const [paymentIntentId, cumulative] = parts as SourceParts["refund_debit"];
    return `${paymentIntentId}:refunded:${cumulative}`;
  }
  return String(parts[0]);
}

// Amounts reaching the ledger were validated by the caller; anything else is a bug, not data.
function checkAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`ledger: amount must be a positive safe integer, got ${amount}`);
  }
}

function checkBalance(balance: number): void {
  if (!Number.isSafeInteger(balance)) {
    throw new RangeError(`ledger: balance ${balance} is not a safe integer`);
  }
}

function checkNonNegative(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`ledger: ${name} must be a non-negative safe integer, got ${value}`);
  }
}

function checkResult(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`ledger: balance would overflow (${value})`);
  return value;
}
