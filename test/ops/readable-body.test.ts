import { describe, expect, it } from "vitest";
import { readableBody } from "../../lib/ops/readable-body.ts";

describe("readableBody", () => {
  // JSON bodies are the norm: shown pretty, with the parsed value for --json.
  it("pretty-prints JSON", () => {
    const body = readableBody(Buffer.from('{"a":1,"b":[true,null]}'));
    expect(body).toEqual({
      kind: "json",
      text: '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}',
      value: { a: 1, b: [true, null] },
    });
  });

  // A poison body must not drive the operator's terminal: control characters are shown, not obeyed.
  it("escapes control characters of text that is not JSON, keeping newlines and tabs", () => {
    expect(readableBody(Buffer.from("line 1\n\tline 2 \u001b[2J\u0007 \\ é"))).toEqual({
      kind: "text",
      text: "line 1\n\tline 2 \\u001b[2J\\u0007 \\\\ é",
    });
    expect(readableBody(Buffer.from("\u009b31m")).text).toBe("\\u009b31m");
  });

  it("shows bytes that are not UTF-8 as \\xNN, printable ASCII as is", () => {
    expect(readableBody(Buffer.from([0x7b, 0xc3, 0x28, 0x0a, 0x5c, 0x00, 0x7f]))).toEqual({
      kind: "binary",
      text: "{\\xc3(\n\\\\\\x00\\x7f",
    });
  });

  it("treats an empty body as text", () => {
    expect(readableBody(Buffer.alloc(0))).toEqual({ kind: "text", text: "" });
  });
});
