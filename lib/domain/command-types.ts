/** Every command type of the Contract, in the Contract's order. */
export const commandTypes = [
  "customer.ensure",
  "deposit.create",
  "subscription.create",
  "subscription.cancel",
  "invoice.create",
  "balance.charge",
  "payment.refund",
] as const;

export type CommandType = (typeof commandTypes)[number];

/** True when the string names a command type of the Contract. */
export function isCommandType(value: string): value is CommandType {
  return (commandTypes as readonly string[]).includes(value);
}
