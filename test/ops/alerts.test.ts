import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { exportedMetricNames, metricNames } from "./promql-metrics.ts";

// The alert rules must load in Prometheus, fire in the scenarios of alerts.promtool.yml, name only
// metrics the fleet exports, and each tell the on-call what it means and where the runbook is.

const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const rulesPath = join(root, "ops/prometheus/alerts.yml");

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

let rulesText: string;
let rules: Rule[];
let promtool: string | undefined;

beforeAll(async () => {
  rulesText = await readFile(rulesPath, "utf8");
  rules = (parse(rulesText) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
  promtool = await run("promtool", ["--version"]).then(
    () => "promtool",
    () => undefined,
  );
});

/** The structure Prometheus requires of a rule file (the check when promtool is not installed). */
function schemaProblems(text: string): string[] {
  const problems: string[] = [];
  const doc = parse(text) as { groups?: unknown };
  if (!Array.isArray(doc.groups) || doc.groups.length === 0) return ["no groups"];
  const groupNames = new Set<string>();
  for (const group of doc.groups as { name?: unknown; rules?: unknown }[]) {
    if (typeof group.name !== "string" || group.name === "") problems.push("a group has no name");
    else if (groupNames.has(group.name)) problems.push(`group ${group.name} twice`);
    else groupNames.add(group.name);
    if (!Array.isArray(group.rules) || group.rules.length === 0)
      problems.push(`group ${String(group.name)} has no rules`);
    for (const rule of (group.rules ?? []) as Record<string, unknown>[]) {
      const name = String(rule.alert ?? rule.record);
      if (typeof rule.alert !== "string" || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(rule.alert))
        problems.push(`${name}: bad alert name`);
      if (typeof rule.expr !== "string" || rule.expr.trim() === "") problems.push(`${name}: no expr`);
      else if (!balanced(rule.expr)) problems.push(`${name}: unbalanced brackets in expr`);
      if (rule.for !== undefined && !/^(\d+(ms|s|m|h|d|w|y))+$/.test(String(rule.for)))
        problems.push(`${name}: bad for`);
      for (const key of Object.keys(rule)) {
        if (!["alert", "expr", "for", "keep_firing_for", "labels", "annotations"].includes(key))
          problems.push(`${name}: unknown key ${key}`);
      }
      for (const field of ["labels", "annotations"]) {
        const map = rule[field];
        if (
          map !== undefined &&
          (typeof map !== "object" || map === null || Object.values(map).some((v) => typeof v !== "string"))
        ) {
          problems.push(`${name}: ${field} must map names to strings`);
        }
      }
    }
  }
  return problems;
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: string[] = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ("([{".includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

describe("ops/prometheus/alerts.yml", () => {
  it("is a valid rule file (promtool check rules; the schema check where promtool is missing)", async () => {
    expect(schemaProblems(rulesText)).toEqual([]);
    if (promtool !== undefined) {
      const { stdout } = await run(promtool, ["check", "rules", rulesPath]);
      expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    }
  });

  it("fires exactly as the scenarios say (promtool test rules)", async () => {
    const scenarios = parse(await readFile(join(root, "test/ops/alerts.promtool.yml"), "utf8")) as {
      tests: { alert_rule_test: { alertname: string }[] }[];
    };
    const tested = new Set(scenarios.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
    // Every alert has a scenario, and every scenario names a real alert.
    expect([...tested].sort()).toEqual(rules.map((r) => r.alert).sort());
    if (promtool === undefined) return;
    const dir = await mkdtemp(join(tmpdir(), "billing-alerts-"));
    try {
      const bare = parse(rulesText) as { groups: { rules: Rule[] }[] };
      for (const rule of bare.groups.flatMap((g) => g.rules)) delete rule.annotations;
      await writeFile(join(dir, "alerts.yml"), stringify(bare));
      await writeFile(join(dir, "tests.yml"), await readFile(join(root, "test/ops/alerts.promtool.yml")));
      const result = await run(promtool, ["test", "rules", "tests.yml"], { cwd: dir }).catch(
        (error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: error.stderr }),
      );
      expect(`${result.stdout}${result.stderr}`).toContain("SUCCESS");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names only metrics the fleet exports", async () => {
    const exported = await exportedMetricNames();
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${rule.alert} names ${name}`).toContain(name);
    }
  });

  // Every alert tells the on-call how bad it is, what it means, and where to look.
  it("gives every alert a for:, a severity, a summary, a description and a runbook section", async () => {
    const runbook = await readFile(join(root, "ops/RUNBOOK.md"), "utf8");
    const anchors = new Set(
      [...runbook.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        (m[1] ?? "")
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, "")
          .replace(/\s/g, "-"),
      ),
    );
    const names = new Set<string>();
    for (const rule of rules) {
      const name = String(rule.alert);
      expect(names.has(name), `${name} twice`).toBe(false);
      names.add(name);
      expect(rule.for, name).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning"], name).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, name).toBeTruthy();
      expect(rule.annotations?.description, name).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, name).toMatch(/^ops\/RUNBOOK\.md#/);
      expect(anchors, `${name}: ${url}`).toContain(url.split("#")[1]);
    }
  });

  it("would catch a broken rule file", () => {
    expect(schemaProblems("groups: []")).toEqual(["no groups"]);
    expect(
      schemaProblems(
        "groups:\n  - name: g\n    rules:\n      - alert: A b\n        expr: sum(rate(x[5m])\n        for: soon\n        labels: {a: [1]}\n        bogus: 1\n",
      ),
    ).toEqual([
      "A b: bad alert name",
      "A b: unbalanced brackets in expr",
      "A b: bad for",
      "A b: unknown key bogus",
      "A b: labels must map names to strings",
    ]);
  });
});
