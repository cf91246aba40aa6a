/**
 * Reads pprof profiles back for the tests: decodes the gzipped bytes with
 * protobufjs against the `profile.proto` schema (github.com/google/pprof,
 * proto/profile.proto; field numbers and types as published there) and
 * checks every invariant pprof's reader enforces (`Profile.CheckValid` and
 * the decoder's checks), so a profile that passes here loads in
 * `go tool pprof`.
 *
 * @module
 */

import assert from "node:assert/strict";
// An inline npm: specifier, not a deno.json import: Deno installs every
// import deno.json lists on each run, also where the registry is unreachable.
// deno-lint-ignore no-import-prefix
import protobuf from "npm:protobufjs@8.8.1";

const SCHEMA = `
syntax = "proto3";
package perftools.profiles;
message Profile {
  repeated ValueType sample_type = 1;
  repeated Sample sample = 2;
  repeated Mapping mapping = 3;
  repeated Location location = 4;
  repeated Function function = 5;
  repeated string string_table = 6;
  int64 drop_frames = 7;
  int64 keep_frames = 8;
  int64 time_nanos = 9;
  int64 duration_nanos = 10;
  ValueType period_type = 11;
  int64 period = 12;
  repeated int64 comment = 13;
  int64 default_sample_type = 14;
  int64 doc_url = 15;
}
message ValueType { int64 type = 1; int64 unit = 2; }
message Sample {
  repeated uint64 location_id = 1;
  repeated int64 value = 2;
  repeated Label label = 3;
}
message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
message Mapping {
  uint64 id = 1;
  uint64 memory_start = 2;
  uint64 memory_limit = 3;
  uint64 file_offset = 4;
  int64 filename = 5;
  int64 build_id = 6;
  bool has_functions = 7;
  bool has_filenames = 8;
  bool has_line_numbers = 9;
  bool has_inline_frames = 10;
}
message Location {
  uint64 id = 1;
  uint64 mapping_id = 2;
  uint64 address = 3;
  repeated Line line = 4;
  bool is_folded = 5;
}
message Line { uint64 function_id = 1; int64 line = 2; int64 column = 3; }
message Function {
  uint64 id = 1;
  int64 name = 2;
  int64 system_name = 3;
  int64 filename = 4;
  int64 start_line = 5;
}
`;

const PROFILE = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType(
  "perftools.profiles.Profile",
);

/** A mapping with its strings resolved. */
export interface DecodedMapping {
  id: bigint;
  start: bigint;
  limit: bigint;
  offset: bigint;
  file: string;
  buildId: string;
  hasFunctions: boolean;
}

/** A location: its address, mapping and function names (inner first). */
export interface DecodedLocation {
  id: bigint;
  address: bigint;
  mapping?: DecodedMapping;
  functions: { name: string; systemName: string }[];
}

/** A sample with its locations and labels resolved. */
export interface DecodedSample {
  locations: DecodedLocation[];
  values: number[];
  labels: Record<string, string | number>;
}

/** A decoded, checked profile. */
export interface DecodedProfile {
  sampleTypes: [string, string][];
  periodType: [string, string];
  period: number;
  timeNanos: bigint;
  durationNanos: bigint;
  defaultSampleType: string;
  comments: string[];
  mappings: DecodedMapping[];
  samples: DecodedSample[];
}

// deno-lint-ignore no-explicit-any
type Raw = any;

function big(v: Raw): bigint {
  return v === undefined || v === null ? 0n : BigInt(String(v));
}

/**
 * Gunzips and decodes `gz`, checks pprof's invariants (asserting), and
 * returns the profile with every reference resolved.
 */
export async function decodePprof(gz: Uint8Array): Promise<DecodedProfile> {
  assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b], "not gzipped");
  const bytes = new Uint8Array(
    await new Response(
      new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  const p: Raw = PROFILE.toObject(PROFILE.decode(bytes), {
    longs: String,
    arrays: true,
    defaults: true,
  });
  const table: string[] = p.string_table;
  assert.ok(table.length > 0 && table[0] === "", 'string_table[0] != ""');
  const str = (i: Raw): string => {
    const n = Number(i);
    assert.ok(Number.isInteger(n) && n >= 0 && n < table.length, `string ${i}`);
    return table[n];
  };
  const ids = <T>(what: string, list: Raw[], make: (r: Raw) => T) => {
    const byId = new Map<bigint, T>();
    for (const r of list) {
      const id = big(r.id);
      assert.notEqual(id, 0n, `${what} with the reserved id 0`);
      assert.ok(!byId.has(id), `${what} id ${id} twice`);
      byId.set(id, make(r));
    }
    return byId;
  };
  const mappings = ids("mapping", p.mapping, (m): DecodedMapping => {
    const start = big(m.memory_start);
    const limit = big(m.memory_limit);
    assert.ok(limit >= start, `mapping ${m.id}: limit below start`);
    return {
      id: big(m.id),
      start,
      limit,
      offset: big(m.file_offset),
      file: str(m.filename),
      buildId: str(m.build_id),
      hasFunctions: m.has_functions,
    };
  });
  const functions = ids("function", p.function, (f) => ({
    name: str(f.name),
    systemName: str(f.system_name),
    file: str(f.filename),
  }));
  const locations = ids("location", p.location, (l): DecodedLocation => {
    const mid = big(l.mapping_id);
    const mapping = mid === 0n ? undefined : mappings.get(mid);
    assert.ok(mid === 0n || mapping, `location ${l.id}: unknown mapping`);
    const address = big(l.address);
    if (mapping !== undefined && mapping.limit > 0n) {
      assert.ok(
        address >= mapping.start && address < mapping.limit,
        `location ${l.id}: address outside its mapping`,
      );
    }
    return {
      id: big(l.id),
      address,
      mapping,
      functions: l.line.map((ln: Raw) => {
        const f = functions.get(big(ln.function_id));
        assert.ok(f, `location ${l.id}: unknown function ${ln.function_id}`);
        return { name: f.name, systemName: f.systemName };
      }),
    };
  });
  const sampleTypes: [string, string][] = p.sample_type.map((
    t: Raw,
  ) => [str(t.type), str(t.unit)]);
  assert.ok(sampleTypes.length > 0 || p.sample.length === 0);
  const samples = p.sample.map((s: Raw): DecodedSample => {
    assert.equal(s.value.length, sampleTypes.length, "values vs. types");
    const labels: Record<string, string | number> = {};
    for (const l of s.label) {
      const key = str(l.key);
      assert.notEqual(key, "", "a label without a key");
      assert.ok(
        Number(l.str) === 0 || big(l.num) === 0n,
        "a label with both str and num",
      );
      labels[key] = Number(l.str) !== 0 ? str(l.str) : Number(l.num);
    }
    return {
      locations: s.location_id.map((id: Raw) => {
        const l = locations.get(big(id));
        assert.ok(l, `sample: unknown location ${id}`);
        return l;
      }),
      values: s.value.map(Number),
      labels,
    };
  });
  return {
    sampleTypes,
    periodType: [str(p.period_type?.type ?? 0), str(p.period_type?.unit ?? 0)],
    period: Number(p.period),
    timeNanos: big(p.time_nanos),
    durationNanos: big(p.duration_nanos),
    defaultSampleType: str(p.default_sample_type),
    comments: p.comment.map(str),
    mappings: [...mappings.values()],
    samples,
  };
}

/**
 * The folded lines of a profile (`comm;outer;…;inner count`), frames named
 * as `scripts/profile.ts` folds them, summed per line.
 */
export function foldedOf(p: DecodedProfile): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of p.samples) {
    const names = s.locations.flatMap((l) => l.functions.map((f) => f.name))
      .toReversed();
    const line = [String(s.labels.comm), ...names]
      .map((f) => f.replaceAll(";", ":").replaceAll(" ", "_")).join(";");
    out.set(line, (out.get(line) ?? 0) + s.values[0]);
  }
  return out;
}

/** Parses folded text into line -> count. */
export function parseFolded(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.split("\n")) {
    if (l === "") continue;
    const i = l.lastIndexOf(" ");
    out.set(
      l.slice(0, i),
      (out.get(l.slice(0, i)) ?? 0) + Number(l.slice(i + 1)),
    );
  }
  return out;
}
