import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Other services import `billing-fleet/client`: the export must point where `npm run build`
// (tsconfig.build.json: rootDir ".", outDir "dist") writes lib/client/index.ts, for Node and for
// TypeScript (exports "types", and typesVersions for the older "node" resolution).

const root = new URL("../../", import.meta.url);
const read = (path: string) => JSON.parse(readFileSync(new URL(path, root), "utf8"));

describe("package.json exports billing-fleet/client", () => {
  it("points types and import at the built lib/client/index", () => {
    const pkg = read("package.json");
    expect(pkg.exports["./client"]).toEqual({
      types: "./dist/lib/client/index.d.ts",
      import: "./dist/lib/client/index.js",
    });
    expect(pkg.typesVersions["*"].client).toEqual(["./dist/lib/client/index.d.ts"]);
    expect(existsSync(new URL("lib/client/index.ts", root))).toBe(true);
  });

  it("is built by npm run build into dist/lib/client", () => {
    const pkg = read("package.json");
    expect(pkg.scripts.build).toBe("tsc -p tsconfig.build.json");
    const build = read("tsconfig.build.json");
    const base = read("tsconfig.json");
    expect(build.include).toContain("lib");
    expect(build.compilerOptions.declaration).toBe(true);
    expect({ ...base.compilerOptions, ...build.compilerOptions }).toMatchObject({
      outDir: "dist",
      rootDir: ".",
      rewriteRelativeImportExtensions: true,
    });
  });
});
