/**
 * The syntax tree of the bpftrace language, as produced by `parse()` in
 * `parser.ts`. Every node is a plain object with a distinct string `kind`
 * and a `span` (its source range), so the compiler can `switch (node.kind)`
 * exhaustively and report errors at the right place.
 *
 * Stability: node kinds and fields are only ever added, never renamed or
 * removed.
 *
 * ## Spans
 *
 * {@linkcode Span}: `start`/`end` are offsets into the source string
 * (UTF-16 code units, i.e. byte offsets for ASCII source; `end` exclusive),
 * `line`/`col` are the 1-based line and column of `start`.
 *
 * ## Top level
 *
 * - `program` ({@linkcode Program}): `includes`, `cDefinitions`, optional
 *   `config`, and `probes`.
 * - `include` ({@linkcode Include}): `#include <x.h>` / `#include "x.h"`;
 *   recorded, otherwise ignored.
 * - `cdef` ({@linkcode CDefinition}): a C `struct`/`union`/`enum`/`typedef`
 *   definition in the preamble, kept as raw text (not parsed).
 * - `config` ({@linkcode ConfigBlock}) with `config_entry` items
 *   ({@linkcode ConfigEntry}): `config = { key = value; ... }`.
 * - `probe` ({@linkcode Probe}): one or more `attach` points, an optional
 *   predicate `/expr/`, a `block` body.
 * - `attach` ({@linkcode AttachPointNode}): one attach point, with the raw
 *   text, the provider normalized to its long name
 *   ({@linkcode ProviderName}), the colon-separated `parts`, and structured
 *   fields (`target`, `symbol`, `offset`, `unit`, `period`, `wildcard`).
 *
 * ## Statements ({@linkcode Stmt})
 *
 * - `expr` ({@linkcode ExprStmt}): an expression evaluated for its effect
 *   (`printf(...)`, `delete(@m[k])`, `$x++`, ...).
 * - `assign` ({@linkcode AssignStmt}): `target op value`, `op` one of `=`
 *   and the compound operators `+= -= *= /= %= &= |= ^= <<= >>=`; `target`
 *   is a `var` or a `map`.
 * - `if` ({@linkcode IfStmt}): `cond`, `then` block, optional `else` (a
 *   `block`, or an `if` for `else if`).
 * - `unroll` ({@linkcode UnrollStmt}): `unroll (count) { ... }`.
 * - `while` ({@linkcode WhileStmt}): `while (cond) { ... }`.
 * - `return` / `break` / `continue` ({@linkcode JumpStmt}).
 * - `let` ({@linkcode LetStmt}): `let $x [: type] [= value];`, a variable
 *   declared in the enclosing block.
 * - `for` ({@linkcode ForStmt}): `for ($kv : @map) { ... }` or
 *   `for ($i : from..to) { ... }`.
 * - `block` ({@linkcode Block}): `{ stmts }` (also every probe body).
 *
 * ## Expressions ({@linkcode Expr})
 *
 * - `int` ({@linkcode IntLit}): `value: bigint`, `raw` text (decimal, hex
 *   `0x`, octal `0o`/leading `0`, binary `0b`, `_` separators, `1e6`).
 * - `str` ({@linkcode StrLit}): decoded text as a byte string.
 * - `bool` ({@linkcode BoolLit}): `true` / `false`.
 * - `var` ({@linkcode VarExpr}): scratch variable `$name` (name without `$`).
 * - `map` ({@linkcode MapExpr}): `@name` or `@` (name `""`), with `keys`
 *   (`@m[k1, k2]` has two keys; `@m` has none).
 * - `builtin` ({@linkcode BuiltinExpr}): a builtin variable such as `pid`,
 *   `comm`, `arg0`, `retval`, `args`, `kstack` (see {@linkcode BUILTINS}).
 * - `ident` ({@linkcode IdentExpr}): any other bare identifier (an enum
 *   value, or an error the compiler reports).
 * - `positional` ({@linkcode PositionalExpr}): `$1`, `$2`, ... with the
 *   argument's text when known; `positional_count` ({@linkcode
 *   PositionalCountExpr}): `$#`.
 * - `call` ({@linkcode CallExpr}): `name(args)`: builtin functions,
 *   aggregations and actions (`count()`, `printf(...)`, `kstack(5)`, ...).
 * - `unary` ({@linkcode UnaryExpr}): `! ~ - *` (deref) and `&` (address of).
 * - `incdec` ({@linkcode IncDecExpr}): `$x++`, `@x--`, `++$x`, `--@m[k]`.
 * - `binary` ({@linkcode BinaryExpr}): `|| && | ^ & == != < <= > >= << >>
 *   + - * / %`.
 * - `ternary` ({@linkcode TernaryExpr}): `cond ? then : else`.
 * - `field` ({@linkcode FieldExpr}): `expr->field` (`arrow: true`) or
 *   `expr.field`.
 * - `tuple_index` ({@linkcode TupleIndexExpr}): `expr.0`.
 * - `index` ({@linkcode IndexExpr}): array subscript `expr[i]` (map lookups
 *   are `map` nodes, not `index`).
 * - `tuple` ({@linkcode TupleExpr}): `(a, b, ...)`, two or more elements.
 * - `cast` ({@linkcode CastExpr}): `(type) expr` with a `type` node.
 * - `sizeof` ({@linkcode SizeofExpr}): `sizeof(type)` or `sizeof(expr)`.
 * - `offsetof` ({@linkcode OffsetofExpr}): `offsetof(struct foo, field)`.
 * - `block_expr` ({@linkcode BlockExpr}): `{ stmts; value }`, a block whose
 *   last statement is an expression without `;`: its value.
 * - `type` ({@linkcode TypeRef}): a type name as written in a cast, e.g.
 *   `u32`, `struct task_struct *`.
 *
 * @module
 */

/** A source range: offsets into the source plus 1-based line/col of start. */
export interface Span {
  /** Offset of the first character (UTF-16 code units). */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** 1-based line of `start`. */
  line: number;
  /** 1-based column of `start`. */
  col: number;
  /**
   * The file the offsets point into, when it is not the program's own
   * (set on the nodes of an `import`ed script).
   */
  source?: SourceText;
  /** Set on code a macro call put here: that call, and the macro's name. */
  expandedFrom?: { span: Span; macro: string };
}

/** A named source text. */
export interface SourceText {
  /** The file name as errors print it. */
  name: string;
  /** The whole text. */
  text: string;
}

/** A whole bpftrace program. */
export interface Program {
  /** Node kind (the discriminant). */
  kind: "program";
  /** `#include` lines of the preamble, in order. */
  includes: Include[];
  /** C type definitions of the preamble (raw text), in order. */
  cDefinitions: CDefinition[];
  /** The `config = { ... }` block, if present. */
  config?: ConfigBlock;
  /** `import "path";` statements, in order (resolved by `imports.ts`). */
  imports?: ImportDecl[];
  /** `macro name(...) { ... }` definitions (expanded by `macros.ts`). */
  macros?: MacroDef[];
  /** `let @name = hash(N);` map declarations, in order. */
  mapDecls?: MapDecl[];
  /** The probes, in source order. */
  probes: Probe[];
  /** Source range of the node. */
  span: Span;
}

/** `#include <path>` or `#include "path"`. */
export interface Include {
  /** Node kind (the discriminant). */
  kind: "include";
  /** The path between the delimiters. */
  path: string;
  /** `true` for `<...>`, `false` for `"..."`. */
  system: boolean;
  /** Source range of the node. */
  span: Span;
}

/** One parameter of a macro: `$var`, `@map` or a bare name (any expression). */
export interface MacroParam {
  /** `var` for `$a`, `map` for `@m`, `ident` for `x`. */
  kind: "var" | "map" | "ident";
  /** The name without its sigil. */
  name: string;
  /** Source range of the parameter. */
  span: Span;
}

/** `macro name(params) { body }`. */
export interface MacroDef {
  /** Node kind (the discriminant). */
  kind: "macro";
  /** The macro's name. */
  name: string;
  /** The parameters, in order. */
  params: MacroParam[];
  /** The body. */
  body: Block;
  /** Whether the body ends with an expression (no `;`): the macro's value. */
  hasValue: boolean;
  /** Source range of the node. */
  span: Span;
}

/** The map types a declaration may name. */
export type MapDeclType = "hash" | "lruhash" | "percpuhash" | "percpulruhash";

/** `let @name = type(max_entries);` before the probes. */
export interface MapDecl {
  /** Node kind (the discriminant). */
  kind: "map_decl";
  /** The map's name without `@`. */
  name: string;
  /** The declared BPF map type. */
  type: MapDeclType;
  /** The map's maximum number of entries. */
  maxEntries: number;
  /** Source range of the node. */
  span: Span;
}

/** `import "path";`. */
export interface ImportDecl {
  /** Node kind (the discriminant). */
  kind: "import";
  /** The path as written. */
  path: string;
  /** Source range of the node. */
  span: Span;
}

/** A C definition (`struct foo { int a; };`, `enum`, `union`, `typedef`). */
export interface CDefinition {
  /** Node kind (the discriminant). */
  kind: "cdef";
  /** The definition's source text, including its trailing `;` if any. */
  text: string;
  /** Source range of the node. */
  span: Span;
}

/** `config = { key = value; ... }`. */
export interface ConfigBlock {
  /** Node kind (the discriminant). */
  kind: "config";
  /** The entries, in order. */
  entries: ConfigEntry[];
  /** Source range of the node. */
  span: Span;
}

/** One `key = value` inside a config block. */
export interface ConfigEntry {
  /** Node kind (the discriminant). */
  kind: "config_entry";
  /** The key name. */
  key: string;
  /** An `int`, `str`, `bool` or `ident` expression. */
  value: Expr;
  /** Source range of the node. */
  span: Span;
}

/** A probe: attach points, optional predicate, body. */
export interface Probe {
  /** Node kind (the discriminant). */
  kind: "probe";
  /** At least one attach point. */
  attachPoints: AttachPointNode[];
  /** The `/expr/` filter, if any. */
  predicate?: Expr;
  /** The probe body. */
  body: Block;
  /** Source range of the node. */
  span: Span;
}

/** Attach point providers, by their long names. */
export type ProviderName =
  | "BEGIN"
  | "END"
  | "tracepoint"
  | "rawtracepoint"
  | "kprobe"
  | "kretprobe"
  | "uprobe"
  | "uretprobe"
  | "usdt"
  | "profile"
  | "interval"
  | "software"
  | "hardware"
  | "kfunc"
  | "kretfunc"
  | "watchpoint"
  | "iter"
  | "test"
  | "bench";

/**
 * One attach point, e.g. `tracepoint:syscalls:sys_enter_openat`,
 * `u:/bin/bash:readline+4`, `profile:hz:99`.
 *
 * Field use by provider:
 * - BEGIN/END: only `provider`.
 * - tracepoint: `target` = `"category:event"` (`parts` = [category, event]).
 * - rawtracepoint: `target` = event name, `"module:event"` with a module.
 * - kprobe/kretprobe/kfunc/kretfunc: `target` = function, `offset` when
 *   `+N` given.
 * - uprobe/uretprobe: `target` = binary path, `symbol` = function name (or
 *   `address` for a numeric location), `offset` when `+N` given.
 * - usdt: `target` = binary path, `symbol` = `"[provider:]probe"`.
 * - profile/interval: `unit` and `period`.
 * - software/hardware: `target` = event name, `period` = count if given.
 * - watchpoint: `target` = address text, `period` = length, `symbol` =
 *   mode.
 * - iter: `target` = iterator name.
 */
export interface AttachPointNode {
  /** Node kind (the discriminant). */
  kind: "attach";
  /** The provider, by its long name. */
  provider: ProviderName;
  /** The exact source text of the attach point. */
  raw: string;
  /**
   * The colon-separated parts after the provider, with quotes removed and
   * positional parameters (`$1`) substituted.
   */
  parts: string[];
  /** The main target (see the interface doc); `""` for BEGIN/END. */
  target: string;
  /** uprobe/uretprobe/usdt: the symbol or probe name. */
  symbol?: string;
  /** uprobe/uretprobe: a numeric address used instead of a symbol. */
  address?: number;
  /** kprobe/uprobe: the `+N` offset. */
  offset?: number;
  /** profile/interval: the period unit. */
  unit?: "hz" | "s" | "ms" | "us";
  /** profile/interval: the number; software/hardware: the count. */
  period?: number;
  /** Whether the target/symbol contains `*` or `?`. */
  wildcard: boolean;
  /** Source range of the node. */
  span: Span;
}

/** `{ stmts }`. */
export interface Block {
  /** Node kind (the discriminant). */
  kind: "block";
  /** The statements, in order. */
  stmts: Stmt[];
  /** Source range of the node. */
  span: Span;
}

/** An expression used as a statement. */
export interface ExprStmt {
  /** Node kind (the discriminant). */
  kind: "expr";
  /** The expression. */
  expr: Expr;
  /** Source range of the node. */
  span: Span;
}

/** Assignment operators, plain and compound. */
export type AssignOp =
  | "="
  | "+="
  | "-="
  | "*="
  | "/="
  | "%="
  | "&="
  | "|="
  | "^="
  | "<<="
  | ">>=";

/** `target op value`. */
export interface AssignStmt {
  /** Node kind (the discriminant). */
  kind: "assign";
  /** The assignment operator. */
  op: AssignOp;
  /** What is assigned. */
  target: VarExpr | MapExpr;
  /** The assigned value (for compound operators, the right operand). */
  value: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `if (cond) { ... } [else ...]`. */
export interface IfStmt {
  /** Node kind (the discriminant). */
  kind: "if";
  /** The condition. */
  cond: Expr;
  /** Run when the condition holds. */
  then: Block;
  /** A `block` for `else { }`, an `if` for `else if`. */
  else?: Block | IfStmt;
  /** Source range of the node. */
  span: Span;
}

/** `unroll (count) { ... }`. */
export interface UnrollStmt {
  /** Node kind (the discriminant). */
  kind: "unroll";
  /** An `int` or `positional` expression. */
  count: Expr;
  /** The body, repeated `count` times. */
  body: Block;
  /** Source range of the node. */
  span: Span;
}

/** `while (cond) { ... }`. */
export interface WhileStmt {
  /** Node kind (the discriminant). */
  kind: "while";
  /** The condition, checked before each iteration. */
  cond: Expr;
  /** The loop body. */
  body: Block;
  /** Source range of the node. */
  span: Span;
}

/** `return;`, `return EXPR;` (test and bench probes), `break;`, `continue;`. */
export interface JumpStmt {
  /** Node kind (the discriminant). */
  kind: "return" | "break" | "continue";
  /** `return EXPR;`: the probe's return value. */
  value?: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `let $x [: type] [= value];`. */
export interface LetStmt {
  /** Node kind (the discriminant). */
  kind: "let";
  /** The declared variable. */
  target: VarExpr;
  /** The declared type, when written. */
  type?: TypeRef;
  /** The initial value, when written (otherwise the variable is zero). */
  value?: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `for ($kv : @map) { ... }` or `for ($i : from..to) { ... }`. */
export interface ForStmt {
  /** Node kind (the discriminant). */
  kind: "for";
  /** The loop variable, declared in the loop's scope. */
  target: VarExpr;
  /** The map iterated over (a map with no keys written). */
  map?: MapExpr;
  /** The range's start (inclusive), for a range loop. */
  from?: Expr;
  /** The range's end (exclusive), for a range loop. */
  to?: Expr;
  /** The loop body. */
  body: Block;
  /** Source range of the node. */
  span: Span;
}

/** Any statement. */
export type Stmt =
  | ExprStmt
  | AssignStmt
  | IfStmt
  | UnrollStmt
  | WhileStmt
  | JumpStmt
  | LetStmt
  | ForStmt
  | Block;

/** An integer literal. */
export interface IntLit {
  /** Node kind (the discriminant). */
  kind: "int";
  /** The value (0 to 2^64-1). */
  value: bigint;
  /** The literal as written. */
  raw: string;
  /** Source range of the node. */
  span: Span;
}

/**
 * A string literal. `value` is a byte string: each character code is one
 * byte (0-255); escapes (`\n`, `\x41`, `\101`) give their byte and
 * non-ASCII source text is UTF-8 encoded. Use {@linkcode stringBytes}.
 */
export interface StrLit {
  /** Node kind (the discriminant). */
  kind: "str";
  /** The decoded bytes as a byte string. */
  value: string;
  /** Source range of the node. */
  span: Span;
}

/** `true` or `false`. */
export interface BoolLit {
  /** Node kind (the discriminant). */
  kind: "bool";
  /** The value. */
  value: boolean;
  /** Source range of the node. */
  span: Span;
}

/** A scratch variable `$name`. */
export interface VarExpr {
  /** Node kind (the discriminant). */
  kind: "var";
  /** The name without `$`. */
  name: string;
  /** Source range of the node. */
  span: Span;
}

/** A map access `@name`, `@`, `@name[k1, k2]`. */
export interface MapExpr {
  /** Node kind (the discriminant). */
  kind: "map";
  /** The name without `@`; `""` for the anonymous map `@`. */
  name: string;
  /** Keys in brackets; empty for a map used without `[...]`. */
  keys: Expr[];
  /** Source range of the node. */
  span: Span;
}

/** A builtin variable (`pid`, `comm`, `arg0`, `args`, ...). */
export interface BuiltinExpr {
  /** Node kind (the discriminant). */
  kind: "builtin";
  /** The name (`pid`, `arg0`, ...). */
  name: string;
  /**
   * `nsecs(monotonic)`, `nsecs(tai)`, `nsecs(sw_tai)` (the boot clock
   * plus the host's TAI offset): the clock read (default: boot).
   */
  clock?: "monotonic" | "tai" | "sw_tai";
  /** Written `cpu()`: a user macro `cpu()` replaces it. */
  called?: true;
  /** Written `__builtin_cpu`: no macro replaces it. */
  raw?: true;
  /** Source range of the node. */
  span: Span;
}

/** A bare identifier that is not a builtin. */
export interface IdentExpr {
  /** Node kind (the discriminant). */
  kind: "ident";
  /** The name. */
  name: string;
  /** Source range of the node. */
  span: Span;
}

/** A positional parameter `$N` (N ≥ 1). */
export interface PositionalExpr {
  /** Node kind (the discriminant). */
  kind: "positional";
  /** 1-based index (`$1` is 1). */
  index: number;
  /** The parameter's text if it was given to `parse()`. */
  value?: string;
  /** Source range of the node. */
  span: Span;
}

/** `$#`: the number of positional parameters. */
export interface PositionalCountExpr {
  /** Node kind (the discriminant). */
  kind: "positional_count";
  /** The count if parameters were given to `parse()`. */
  value?: number;
  /** Source range of the node. */
  span: Span;
}

/** `name(args)`. */
export interface CallExpr {
  /** Node kind (the discriminant). */
  kind: "call";
  /** The function name. */
  name: string;
  /** The arguments. */
  args: Expr[];
  /** Source range of the node. */
  span: Span;
}

/** Prefix unary operators. */
export type UnaryOp = "!" | "~" | "-" | "*" | "&";

/** `op expr`. */
export interface UnaryExpr {
  /** Node kind (the discriminant). */
  kind: "unary";
  /** The operator. */
  op: UnaryOp;
  /** The operand. */
  expr: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `++x`, `--x`, `x++`, `x--` on a variable or map. */
export interface IncDecExpr {
  /** Node kind (the discriminant). */
  kind: "incdec";
  /** The operator. */
  op: "++" | "--";
  /** `true` for `++x`, `false` for `x++`. */
  prefix: boolean;
  /** The variable or map changed. */
  target: VarExpr | MapExpr;
  /** Source range of the node. */
  span: Span;
}

/** Binary operators. */
export type BinaryOp =
  | "||"
  | "&&"
  | "|"
  | "^"
  | "&"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "<<"
  | ">>"
  | "+"
  | "-"
  | "*"
  | "/"
  | "%";

/** `left op right`. */
export interface BinaryExpr {
  /** Node kind (the discriminant). */
  kind: "binary";
  /** The operator. */
  op: BinaryOp;
  /** The left operand. */
  left: Expr;
  /** The right operand. */
  right: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `cond ? then : else`. */
export interface TernaryExpr {
  /** Node kind (the discriminant). */
  kind: "ternary";
  /** The condition. */
  cond: Expr;
  /** The value when the condition holds. */
  then: Expr;
  /** The value otherwise. */
  else: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `expr->field` or `expr.field`. */
export interface FieldExpr {
  /** Node kind (the discriminant). */
  kind: "field";
  /** The struct, pointer or tuple-valued expression. */
  expr: Expr;
  /** The field name. */
  field: string;
  /** `true` for `->`, `false` for `.`. */
  arrow: boolean;
  /** Source range of the node. */
  span: Span;
}

/** `expr.N`: tuple element access. */
export interface TupleIndexExpr {
  /** Node kind (the discriminant). */
  kind: "tuple_index";
  /** The tuple expression. */
  expr: Expr;
  /** The 0-based element index. */
  index: number;
  /** Source range of the node. */
  span: Span;
}

/** `expr[index]`: array subscript. */
export interface IndexExpr {
  /** Node kind (the discriminant). */
  kind: "index";
  /** The array or pointer expression. */
  expr: Expr;
  /** The subscript. */
  index: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `(a, b, ...)`. */
export interface TupleExpr {
  /** Node kind (the discriminant). */
  kind: "tuple";
  /** The elements (two or more; a record's may be one). */
  elems: Expr[];
  /** A record's field names (`(a=1, b="x")`), one per element. */
  names?: string[];
  /** Source range of the node. */
  span: Span;
}

/**
 * A type as written in a cast, `sizeof` or `offsetof`: `u32`, `uint8`,
 * `struct task_struct *`, `char[16]`.
 */
export interface TypeRef {
  /** Node kind (the discriminant). */
  kind: "type";
  /** The name, with `struct `/`union `/`enum ` prefix when written. */
  name: string;
  /** Number of `*`. */
  pointer: number;
  /** Array length for `type[N]` (0 for `type[]`: the cast value's). */
  arrayLength?: number;
  /** `typeof(expr)`: the (unevaluated) expression's type. */
  of?: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `(type) expr`. */
export interface CastExpr {
  /** Node kind (the discriminant). */
  kind: "cast";
  /** The target type. */
  type: TypeRef;
  /** The converted expression. */
  expr: Expr;
  /** Source range of the node. */
  span: Span;
}

/** `sizeof(type)` or `sizeof(expr)`. */
export interface SizeofExpr {
  /** Node kind (the discriminant). */
  kind: "sizeof";
  /** The type or expression measured. */
  arg: TypeRef | Expr;
  /** Source range of the node. */
  span: Span;
}

/** `offsetof(type, field)`. */
export interface OffsetofExpr {
  /** Node kind (the discriminant). */
  kind: "offsetof";
  /** The struct type. */
  type: TypeRef;
  /** The field path (`a.b` gives `["a", "b"]`). */
  field: string[];
  /** Source range of the node. */
  span: Span;
}

/** `{ stmts; value }`: a block used as an expression. */
export interface BlockExpr {
  /** Node kind (the discriminant). */
  kind: "block_expr";
  /** The statements run first, in the block's own scope. */
  stmts: Stmt[];
  /** The last expression: the block's value. */
  value: Expr;
  /** Source range of the node. */
  span: Span;
}

/** Any expression. */
export type Expr =
  | IntLit
  | StrLit
  | BoolLit
  | VarExpr
  | MapExpr
  | BuiltinExpr
  | IdentExpr
  | PositionalExpr
  | PositionalCountExpr
  | CallExpr
  | UnaryExpr
  | IncDecExpr
  | BinaryExpr
  | TernaryExpr
  | FieldExpr
  | TupleIndexExpr
  | IndexExpr
  | TupleExpr
  | CastExpr
  | SizeofExpr
  | OffsetofExpr
  | BlockExpr;

/** Any node of the tree. */
export type Node =
  | Program
  | Include
  | CDefinition
  | ConfigBlock
  | ConfigEntry
  | Probe
  | AttachPointNode
  | Stmt
  | Expr
  | TypeRef;

/**
 * Builtin variable names (bpftrace 0.17). `argN` (any N) and `sargN` are
 * builtins too; see {@linkcode isBuiltinName}.
 */
export const BUILTINS: ReadonlySet<string> = new Set([
  "pid",
  "tid",
  "uid",
  "gid",
  "nsecs",
  "elapsed",
  "numaid",
  "cpu",
  "comm",
  "kstack",
  "ustack",
  "stack",
  "func",
  "probe",
  "curtask",
  "rand",
  "cgroup",
  "cpid",
  "retval",
  "args",
  "ctx",
  "username",
  "jiffies",
  // bpftrace 0.26
  "ppid",
  "ncpus",
  "usermode",
  "probetype",
  "has_cpid",
]);

/**
 * Whether `name` is a builtin variable (including `arg0`.. and `sarg0`..).
 *
 * @example Usage
 * ```ts
 * import { isBuiltinName } from "./ast.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isBuiltinName("arg3"), true);
 * assert.equal(isBuiltinName("foo"), false);
 * ```
 */
export function isBuiltinName(name: string): boolean {
  return BUILTINS.has(name) || /^s?arg[0-9]+$/.test(name);
}

/**
 * The bytes of a string literal (its byte-string `value`).
 *
 * @example Usage
 * ```ts
 * import { stringBytes } from "./ast.ts";
 * import assert from "node:assert/strict";
 * const s = { kind: "str", value: "A\n", span: { start: 0, end: 5, line: 1, col: 1 } } as const;
 * assert.deepEqual([...stringBytes(s)], [65, 10]);
 * ```
 */
export function stringBytes(lit: StrLit): Uint8Array {
  const out = new Uint8Array(lit.value.length);
  for (let i = 0; i < out.length; i++) out[i] = lit.value.charCodeAt(i) & 0xff;
  return out;
}
