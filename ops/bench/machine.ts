import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import amqplib from "amqplib";
import { postgresVersion } from "../fleet-runner/scratch-database.ts";

/** The machine the figures come from. */
export interface Machine {
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly postgres: string;
  readonly rabbitmq: string;
  readonly loadGenerator: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  readonly loadAtStart: number;
}

/** nproc, memory, CPU model (/proc/cpuinfo), and the versions of Node, PostgreSQL and RabbitMQ. */
export async function describeMachine(
  postgresUrl: string,
  amqpUrl: string,
  loadGenerator: string,
): Promise<Machine> {
  let cpuModel = "unknown";
  try {
    cpuModel =
      /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  let cpus = availableParallelism();
  try {
    cpus = Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || cpus;
  } catch {
    // no coreutils nproc: Node's count stands
  }
  const connection = await amqplib.connect(amqpUrl);
  const rabbitmq = String(connection.connection.serverProperties.version ?? "unknown");
  await connection.close();
  return {
    cpus,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel,
    node: process.version,
    postgres: await postgresVersion(postgresUrl),
    rabbitmq,
    loadGenerator,
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
