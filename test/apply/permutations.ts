import { permutations } from "../domain/random.ts";
import { type Applier, stripeMessage } from "./stripe-messages.ts";

// Runs one entity's history in order and in every permutation, each run on its own entity id (and
// its own event ids, ordered alike), so one database holds them all side by side. Each event in a
// transaction of its own, or (inOneBatch) every event of a permutation in ONE batch, in its order.

type Json = Record<string, unknown>;

/** One history, built for an entity id; event k gets the id `eventId(k)`. */
export type History = (entityId: string, eventId: (k: number) => string) => Json[];

export interface PermutationRun<Row> {
  order: number[];
  entityId: string;
  state: Row;
}

/** The state after the in-order run, and after each permutation; `read` normalizes a row. */
export async function runPermutations<Row>(options: {
  name: string;
  history: History;
  worker: Applier;
  read: (entityId: string, eventTag: string) => Promise<Row>;
  inOneBatch?: boolean;
}): Promise<{ inOrder: Row; runs: PermutationRun<Row>[] }> {
  const { name, history, worker, read } = options;
  const apply = async (events: Json[]) => {
    if (options.inOneBatch === true) {
      const outcomes = await worker.applyBatch(events.map((event) => stripeMessage(event)));
      if (!outcomes.every((o) => o.status === "applied"))
        throw new Error(`not all applied: ${JSON.stringify(outcomes)}`);
    } else {
      for (const event of events) await worker.apply(stripeMessage(event));
    }
  };
  const build = (tag: string) => history(`${name}_${tag}`, (k) => `evt_${name}_${tag}_${k}`);
  const reference = build("inorder");
  await apply(reference);
  const inOrder = await read(`${name}_inorder`, `evt_${name}_inorder_`);

  const runs: PermutationRun<Row>[] = [];
  let index = 0;
  const indexes = reference.map((_, k) => k);
  for (const order of permutations(indexes)) {
    const tag = `p${String(index++).padStart(2, "0")}`;
    const events = build(tag);
    await apply(order.map((k) => events[k] as Json));
    runs.push({
      order,
      entityId: `${name}_${tag}`,
      state: await read(`${name}_${tag}`, `evt_${name}_${tag}_`),
    });
  }
  return { inOrder, runs };
}
