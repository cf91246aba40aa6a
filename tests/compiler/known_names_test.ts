import assert from "node:assert/strict";
import { compile } from "../../runtime/compiler/compile.ts";
import { BUILTINS, FUNCTIONS } from "../../runtime/compiler/known_names.ts";

function errorsOf(source: string): string {
  try {
    compile(source, { unsafe: true });
    return "";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

Deno.test("every name suggested as a function is one the compiler knows", () => {
  for (const name of FUNCTIONS) {
    const message = errorsOf(`BEGIN { ${name}(); }`);
    assert.doesNotMatch(message, /Unknown function/, name);
  }
  // The check itself can fail.
  assert.match(errorsOf("BEGIN { cnt(); }"), /Unknown function/);
});

Deno.test("every name suggested as a builtin is one the compiler knows", () => {
  for (const name of BUILTINS) {
    const message = errorsOf(`BEGIN { @x = ${name}; }`);
    assert.doesNotMatch(message, /Unknown identifier/, name);
  }
  assert.match(errorsOf("BEGIN { @x = comn; }"), /Unknown identifier/);
});
