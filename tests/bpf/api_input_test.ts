/**
 * Malformed input to the public bytecode API (`bpf.ts`) gets an error that
 * names the function and the argument (issue 11, item 8), never a
 * `TypeError` from deep inside ("Cannot read properties of undefined").
 */
import assert from "node:assert/strict";
import {
  assemble,
  createEnvironment,
  createMap,
  decode,
  disassemble,
  encode,
  type Insn,
  InvalidInsnError,
  verify,
  VmProgram,
} from "../../bpf.ts";

const OK: Insn[] = [
  { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
  { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
];
const OPTS = { maps: [], ctxSize: 0 };

/** Asserts `f` throws `type` with a message matching `re`, not a raw crash. */
function throwsClean(
  f: () => unknown,
  type: new (message: string, index: number) => Error,
  re: RegExp,
): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof type, `${e}`);
    assert.doesNotMatch(
      (e as Error).message,
      /Cannot read properties|is not a function|is not iterable|Cannot convert/,
    );
    assert.match((e as Error).message, re);
    return true;
  });
}

// deno-lint-ignore no-explicit-any
const bad = (v: unknown) => v as any;

Deno.test("api input: verify([{}]) throws InvalidInsnError naming the slot and field", () => {
  assert.throws(
    () => verify(bad([{}]), OPTS),
    (e: unknown) =>
      e instanceof InvalidInsnError && e instanceof TypeError &&
      e.index === 0 &&
      e.message ===
        'Invalid instruction 0 given to verify(): "code" must be an integer from 0 to 255, got undefined',
  );
});

Deno.test("api input: verify checks every field of every slot", () => {
  const cases: [Partial<Insn> | unknown, RegExp][] = [
    [null, /instruction 1 .*expected an object/],
    [{ ...OK[1], code: NaN }, /"code" must be an integer .*got NaN/],
    [{ ...OK[1], dst: 11.5 }, /"dst" must be an integer/],
    [{ ...OK[1], src: 16 }, /"src" must be an integer from 0 to 15, got 16/],
    [{ ...OK[1], off: 40000 }, /"off" .* -32768 to 32767, got 40000/],
    [{ ...OK[1], imm: "x" }, /"imm" .*got "x"/],
    [{ ...OK[1], imm: 1n }, /"imm" .*got 1n/],
  ];
  for (const [slot, re] of cases) {
    throwsClean(() => verify(bad([OK[0], slot]), OPTS), InvalidInsnError, re);
  }
});

Deno.test("api input: verify checks its arguments", () => {
  throwsClean(
    () => verify(bad(null), OPTS),
    TypeError,
    /^verify\(\) expects an array of instructions, got null$/,
  );
  throwsClean(() => verify(bad("r0 = 0"), OPTS), TypeError, /got "r0 = 0"/);
  throwsClean(
    () => verify(OK, bad(undefined)),
    TypeError,
    /^verify\(\) expects options to be an object, got undefined$/,
  );
  throwsClean(
    () => verify(OK, bad({})),
    TypeError,
    /options\.maps to be an array, got undefined/,
  );
  throwsClean(
    () => verify(OK, bad({ maps: [null], ctxSize: 0 })),
    TypeError,
    /options\.maps\[0\] to be an object/,
  );
  throwsClean(
    () => verify(OK, bad({ maps: [{ type: 1 }], ctxSize: 0 })),
    TypeError,
    /"keySize" must be an integer/,
  );
  throwsClean(
    () => verify(OK, bad({ maps: [] })),
    TypeError,
    /"ctxSize" must be an integer, got undefined/,
  );
  throwsClean(
    () => verify(OK, { maps: [], ctxSize: -1 }),
    RangeError,
    /"ctxSize" must be from 0/,
  );
  // Well-formed input still verifies.
  assert.equal(verify(OK, OPTS).insnsProcessed, 2);
});

Deno.test("api input: encode, decode and disassemble check their input", () => {
  throwsClean(() => encode(bad([{}])), InvalidInsnError, /encode\(\)/);
  throwsClean(
    () => encode(bad([{ ...OK[0], dst: 99 }])),
    InvalidInsnError,
    /"dst"/,
  );
  throwsClean(
    () => encode(bad(null)),
    TypeError,
    /^encode\(\) expects an array/,
  );
  throwsClean(
    () => decode(bad(null)),
    TypeError,
    /^decode\(\) expects a Uint8Array, got null$/,
  );
  throwsClean(
    () => decode(bad("abcdefgh")),
    TypeError,
    /decode\(\) expects a Uint8Array/,
  );
  throwsClean(
    () => disassemble(bad([{}])),
    InvalidInsnError,
    /disassemble\(\)/,
  );
  throwsClean(
    () => disassemble(bad(undefined)),
    TypeError,
    /disassemble\(\) expects an array/,
  );
  assert.deepEqual(decode(encode(OK)), OK);
  // An unknown opcode is listed, not thrown.
  assert.match(
    disassemble([{ code: 0, dst: 0, src: 0, off: 0, imm: 0 }])[0],
    /invalid/,
  );
});

Deno.test("api input: assemble checks its text", () => {
  throwsClean(
    () => assemble(bad(null)),
    TypeError,
    /^assemble\(\) expects text/,
  );
  throwsClean(() => assemble(bad(5)), TypeError, /got 5/);
});

Deno.test("api input: VmProgram, run, createMap and createEnvironment check their input", () => {
  throwsClean(
    () => new VmProgram(bad([{}]), []),
    InvalidInsnError,
    /new VmProgram\(\)/,
  );
  throwsClean(
    () => new VmProgram(bad(null), []),
    TypeError,
    /new VmProgram\(\) expects an array of instructions/,
  );
  throwsClean(
    () => new VmProgram(OK, bad(null)),
    TypeError,
    /expects an array of maps, got null/,
  );
  throwsClean(
    () => new VmProgram(OK, bad([1])),
    TypeError,
    /maps\[0\] to be an object/,
  );
  const p = new VmProgram(OK, []);
  const env = createEnvironment();
  throwsClean(
    () => p.run(bad(null), env),
    TypeError,
    /^run\(\) expects ctx to be a Uint8Array, got null$/,
  );
  throwsClean(
    () => p.run(new Uint8Array(0), bad(undefined)),
    TypeError,
    /^run\(\) expects env to be an object/,
  );
  assert.equal(p.run(new Uint8Array(0), env), 0n);
  throwsClean(
    () => createMap(bad(null), 1),
    TypeError,
    /^createMap\(\) expects the map shape to be an object, got null$/,
  );
  throwsClean(
    () => createEnvironment(bad(null)),
    TypeError,
    /^createEnvironment\(\) expects options to be an object/,
  );
});
