// A second, independent engine for Synapse modules: node's WebAssembly (V8) with a JavaScript
// implementation of the "syn" host imports, byte for byte as runtime/host.py defines them
// (output, number formatting, trap messages, the output cap).
//
// Used by runtime/replay_node.py to re-execute modules and compare their output with the
// wasmtime sandbox. There is no fuel here: callers must not send modules that never end.
//
// Usage: node node_host.mjs MANIFEST.json
//   MANIFEST: {"cases": [{"module": PATH, "input": PATH, "output_limit": N}, ...]}
// Prints one JSON line per case: {"status": "ok"|"trap"|"exhausted"|"refused",
//   "exhausted": KIND|null, "message": TEXT|null, "origin": "host"|"wasm"|null,
//   "output": BASE64}

import { readFileSync } from "node:fs";

const FMT_MAX_BYTES = 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

class HostTrap extends Error {
  constructor(message, status = "trap", exhausted = null) {
    super(message);
    this.status = status;
    this.exhausted = exhausted;
  }
}

// -- number formatting (host.py: format_f64, format_f32) --------------------------------------

// The significant digits of a JavaScript number's text (no leading zeros) and the decimal
// exponent `point` such that |value| = 0.DIGITS * 10**point.
function parseDecimal(text) {
  let mantissa = text.replace(/^-/, "");
  let exponent = 0;
  const e = mantissa.indexOf("e");
  if (e >= 0) {
    exponent = Number(mantissa.slice(e + 1));
    mantissa = mantissa.slice(0, e);
  }
  const dot = mantissa.indexOf(".");
  const intPart = dot >= 0 ? mantissa.slice(0, dot) : mantissa;
  const fracPart = dot >= 0 ? mantissa.slice(dot + 1) : "";
  let digits = intPart + fracPart;
  let point = intPart.length + exponent;
  const lead = digits.length - digits.replace(/^0+/, "").length;
  digits = digits.slice(lead);
  point -= lead;
  return { digits, point };
}

// Shortest round-trip digits of a finite, non-zero double (ECMAScript's Number-to-String
// picks the shortest digits, the closest of them, ties to even: as Python's repr does).
function shortestDigits(x) {
  const { digits, point } = parseDecimal(String(Math.abs(x)));
  return { digits: digits.replace(/0+$/, ""), point };
}

// Python's repr of a float: fixed notation for 1e-4 <= |x| < 1e16, else d.ddde+XX.
export function formatF64(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return sign + "0.0";
  const { digits, point } = shortestDigits(x);
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const exp = point - 1;
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expText = String(Math.abs(exp)).padStart(2, "0");
  return `${sign}${mant}e${exp < 0 ? "-" : "+"}${expText}`;
}

// `value` rounded to `precision` significant digits, ties to even, as C's "%.*g" does
// (toPrecision breaks exact ties upwards, so ties are detected and redone).
function toPrecisionEven(value, precision) {
  const rounded = value.toPrecision(precision);
  // toPrecision(100) is exact for every binary32 value that can sit on a tie.
  const { digits, point } = parseDecimal(value.toPrecision(100));
  const rest = digits.slice(precision);
  if (!/^50*$/.test(rest)) return rounded;       // not a tie: toPrecision is right
  const kept = digits.slice(0, precision);
  if (Number(kept[kept.length - 1]) % 2 === 1) return rounded;   // odd: round up, as it did
  return `${value < 0 ? "-" : ""}0.${kept}e${point}`;            // even: round down
}

// The shortest decimal that reads back as the same binary32, in repr style.
export function formatF32(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  const value = Math.fround(x);
  if (value === 0) return formatF64(value);
  for (let precision = 1; precision < 10; precision++) {
    const candidate = Number(toPrecisionEven(value, precision));
    if (Math.fround(candidate) === value) return formatF64(candidate);
  }
  return formatF64(value);
}

// -- one run ------------------------------------------------------------------------------------

function makeHost(input, outputLimit) {
  const state = { memory: null, chunks: [], length: 0 };
  const bytes = () => new Uint8Array(state.memory.buffer);

  function checkRange(ptr, length) {
    const size = state.memory ? state.memory.buffer.byteLength : 0;
    if (ptr < 0 || length < 0 || ptr + length > size) throw new HostTrap("invalid pointer");
  }
  function readBytes(ptr, length) {
    ptr = ptr >>> 0;
    checkRange(ptr, length);
    return bytes().slice(ptr, ptr + length);
  }
  function writeBytes(ptr, data) {
    ptr = ptr >>> 0;
    checkRange(ptr, data.length);
    bytes().set(data, ptr);
  }
  function readStr(ptr) {
    ptr = ptr >>> 0;
    checkRange(ptr, 4);
    const length = new DataView(state.memory.buffer).getInt32(ptr, true);
    return decoder.decode(readBytes(ptr + 4, length));
  }
  function emit(data) {
    const room = outputLimit - state.length;
    if (data.length > room) {
      const part = data.slice(0, Math.max(room, 0));
      state.chunks.push(part);
      state.length += part.length;
      throw new HostTrap(`output limit exceeded: more than ${outputLimit} bytes`,
        "exhausted", "output");
    }
    state.chunks.push(data);
    state.length += data.length;
  }
  function trapMessage(kind, msg, a, b) {
    switch (kind) {
      case 1: return new HostTrap(readStr(msg));
      case 2: return new HostTrap(`index out of bounds: index ${a}, length ${b} at ${readStr(msg)}`);
      case 3: return new HostTrap(
        `arena exhausted: requested ${a} bytes with ${b} of ${state.memory.buffer.byteLength} bytes in use`,
        "exhausted", "arena");
      case 4: return new HostTrap(`panic: ${readStr(msg)}`);
      case 5: return new HostTrap(`map key not found: "${readStr(msg)}"`);
      case 6: return new HostTrap(`pop from empty vector at ${readStr(msg)}`);
      default: return new HostTrap(`invalid trap kind ${kind}`);
    }
  }
  const syn = {
    input_len: () => input.length,
    input_read: (dst) => writeBytes(dst, input),
    write: (ptr, length) => emit(readBytes(ptr, length)),
    write_i64: (v) => emit(encoder.encode(String(v))),
    write_f64: (v) => emit(encoder.encode(formatF64(v))),
    write_f32: (v) => emit(encoder.encode(formatF32(v))),
    fmt_f64: (v, dst) => {
      const text = encoder.encode(formatF64(v)).slice(0, FMT_MAX_BYTES);
      writeBytes(dst, text);
      return text.length;
    },
    fmt_f32: (v, dst) => {
      const text = encoder.encode(formatF32(v)).slice(0, FMT_MAX_BYTES);
      writeBytes(dst, text);
      return text.length;
    },
    trap: (kind, msg, a, b) => { throw trapMessage(kind, msg, a, b); },
  };
  return { state, syn };
}

// V8's messages for Wasm traps, worded as wasmtime's (runtime/sandbox.py).
const WASM_TRAPS = [
  [/divide by zero|remainder by zero/, "integer divide by zero"],
  [/divide result unrepresentable|remainder result unrepresentable/, "integer overflow"],
  [/float unrepresentable in integer range/, "invalid conversion to integer"],
  [/unreachable/, "unreachable"],
  [/memory access out of bounds/, "out of bounds memory access"],
];

function wasmTrapMessage(message) {
  for (const [pattern, text] of WASM_TRAPS) if (pattern.test(message)) return text;
  return message;
}

function runCase(moduleBytes, input, outputLimit) {
  let module;
  try {
    module = new WebAssembly.Module(moduleBytes);
  } catch (err) {
    return { status: "refused", exhausted: null, message: String(err.message), origin: null, output: [] };
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "syn" || imp.kind !== "function") {
      return { status: "refused", exhausted: null, message: `import not allowed: ${imp.module}.${imp.name}`,
        origin: null, output: [] };
    }
  }
  const { state, syn } = makeHost(input, outputLimit);
  let result = { status: "ok", exhausted: null, message: null, origin: null };
  try {
    const instance = new WebAssembly.Instance(module, { syn });
    state.memory = instance.exports.memory;
    instance.exports.main();
  } catch (err) {
    if (err instanceof HostTrap) {
      result = { status: err.status, exhausted: err.exhausted, message: err.message, origin: "host" };
    } else if (err instanceof RangeError && /call stack/i.test(err.message)) {
      result = { status: "exhausted", exhausted: "stack", message: "call stack exhausted", origin: "wasm" };
    } else if (err instanceof WebAssembly.RuntimeError) {
      result = { status: "trap", exhausted: null, message: wasmTrapMessage(err.message), origin: "wasm" };
    } else {
      throw err;
    }
  }
  return { ...result, output: state.chunks };
}

function main() {
  const manifest = JSON.parse(readFileSync(process.argv[2], "utf-8"));
  for (const item of manifest.cases) {
    const moduleBytes = readFileSync(item.module);
    const input = new Uint8Array(readFileSync(item.input));
    const run = runCase(moduleBytes, input, item.output_limit ?? 16 * 1024 * 1024);
    const output = Buffer.concat(run.output.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));
    process.stdout.write(JSON.stringify({
      status: run.status, exhausted: run.exhausted, message: run.message, origin: run.origin,
      output: output.toString("base64"),
    }) + "\n");
  }
}

if (process.argv.length > 2 && process.argv[2] !== "--format") main();

// `node node_host.mjs --format FILE`: FILE holds lines "f64 HEXBITS" / "f32 HEXBITS"; prints
// the formatted text of each (used to compare the formatting rules with host.py).
if (process.argv[2] === "--format") {
  const lines = readFileSync(process.argv[3], "utf-8").split("\n").filter(Boolean);
  const out = [];
  const view = new DataView(new ArrayBuffer(8));
  for (const line of lines) {
    const [kind, hex] = line.split(" ");
    if (kind === "f64") {
      view.setBigUint64(0, BigInt("0x" + hex));
      out.push(formatF64(view.getFloat64(0)));
    } else {
      view.setUint32(0, Number.parseInt(hex, 16));
      out.push(formatF32(view.getFloat32(0)));
    }
  }
  process.stdout.write(out.join("\n") + "\n");
}
