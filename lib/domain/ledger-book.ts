import { type LedgerKind, ledgerEntryAmount, planCredit, planDebit } from "./ledger.ts";

// The ledger of one transaction, in memory: the balances of the accounts it locked and the entries
// that already exist among the keys it may post. Postings are planned against it one after
// another, so a debit never takes a balance below zero and a key is posted once, however many
// events of a batch ask for it. The writer then inserts exactly these postings.

/** One entry to write: the amount is signed (credits positive). */
export interface Posting {
  readonly accountId: string;
  readonly currency: string;
  readonly kind: LedgerKind;
  readonly sourceId: string;
  readonly amount: number;
}

/** An entry already in the ledger (or planned in this transaction). */
export type LedgerEntryState = Posting;

export interface PostingRequest {
  readonly accountId: string;
  readonly currency: string;
  readonly kind: LedgerKind;
  /** From ledgerSourceId: the same cause always gives the same id. */
  readonly sourceId: string;
  /** Positive minor units; the kind gives the sign. */
  readonly amount: number;
}

export type PostingResult =
  | { readonly outcome: "posted"; readonly balance: number }
  | { readonly outcome: "duplicate" }
  | { readonly outcome: "insufficient_funds"; readonly balance: number; readonly accountExists: boolean };

export interface LedgerBook {
  /** Plans one posting: once per (kind, sourceId); a debit below zero plans nothing. */
  post(request: PostingRequest): PostingResult;
  /** The entry of (kind, sourceId), loaded or planned. */
  entry(kind: LedgerKind, sourceId: string): LedgerEntryState | undefined;
  /** The planned postings, in order. */
  postings(): readonly Posting[];
  /** The balance of every account that a planned posting moves, after all of them. */
  movedBalances(): ReadonlyMap<string, number>;
}

/** The key of an account's balance in a book. */
export function accountKey(accountId: string, currency: string): string {
  return `${accountId}\u0000${currency}`;
}

/** The key of a ledger entry: its kind and source id are unique together. */
export function entryKey(kind: LedgerKind, sourceId: string): string {
  return `${kind}\u0000${sourceId}`;
}

/**
 * A book over the locked accounts (`balances`, by accountKey) and the entries found among the keys
 * to post (`entries`). Crediting an account that is not in `balances` is a bug of the caller,
 * which must lock (or create) every account it credits.
 */
export function createLedgerBook(input: {
  balances: ReadonlyMap<string, number>;
  entries: Iterable<LedgerEntryState>;
}): LedgerBook {
  const balances = new Map(input.balances);
  const entries = new Map<string, LedgerEntryState>();
  for (const entry of input.entries) entries.set(entryKey(entry.kind, entry.sourceId), entry);
  const planned: Posting[] = [];
  const moved = new Set<string>();

  return {
    post(request) {
      const key = entryKey(request.kind, request.sourceId);
      if (entries.has(key)) return { outcome: "duplicate" };
      const account = accountKey(request.accountId, request.currency);
      const balance = balances.get(account);
      const signed = ledgerEntryAmount(request.kind, request.amount);
      if (balance === undefined) {
        if (signed > 0) {
          throw new Error(`ledger book: account ${request.accountId}/${request.currency} was not locked`);
        }
        return { outcome: "insufficient_funds", balance: 0, accountExists: false };
      }
      const plan = signed > 0 ? planCredit(balance, request.amount) : planDebit(balance, request.amount);
      if (!plan.ok) return { outcome: "insufficient_funds", balance, accountExists: true };
      const posting: Posting = { ...request, amount: signed };
      balances.set(account, plan.newBalance);
      entries.set(key, posting);
      planned.push(posting);
      moved.add(account);
      return { outcome: "posted", balance: plan.newBalance };
    },
    entry: (kind, sourceId) => entries.get(entryKey(kind, sourceId)),
    postings: () => planned,
    movedBalances: () => new Map([...moved].map((account) => [account, balances.get(account) ?? 0])),
  };
}
