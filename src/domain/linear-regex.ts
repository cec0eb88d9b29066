/**
 * The `$regex` of payload filters (domain/payload-filter.ts): a pattern language that cannot be made
 * slow. JavaScript's RegExp backtracks, so `(a+)+$` against a long subject field takes exponential
 * time and would stall every publish. Here a pattern compiles to a small program run as a Thompson
 * NFA (a Pike VM without captures): time linear in the text times the pattern, whatever the pattern.
 *
 * The syntax is the common subset of RE2 and JavaScript: literals, `.`, classes `[a-z]` `[^…]`,
 * `\d \w \s \D \W \S`, anchors `^ $ \b \B`, groups `(…)` `(?:…)` `(?<name>…)`, alternation `|`, and
 * the quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too: for matching they mean the same). Flags:
 * `i`, `m`, `s`. Refused: backreferences and lookaround (no linear-time engine has them).
 */

export const REGEX_MAX_LENGTH = 200;
/** Instructions one pattern may compile to (a counted repeat copies its body). */
const MAX_PROGRAM = 2000;

type Test = (c: number) => boolean;
type Inst =
  | { op: "char"; test: Test }
  | { op: "split"; a: number; b: number }
  | { op: "jmp"; to: number }
  | { op: "assert"; kind: "^" | "$" | "b" | "B" }
  | { op: "match" };

type Node =
  | { t: "char"; test: Test }
  | { t: "assert"; kind: "^" | "$" | "b" | "B" }
  | { t: "seq"; items: Node[] }
  | { t: "alt"; a: Node; b: Node }
  | { t: "repeat"; x: Node; min: number; max: number };

export class RegexSyntaxError extends Error {}

const isWordCode = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpaceCode = (c: number) => /\s/.test(String.fromCharCode(c));
const isDigitCode = (c: number) => c >= 48 && c <= 57;
const fold = (c: number) => String.fromCharCode(c).toLowerCase().charCodeAt(0);

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly ignoreCase: boolean,
    private readonly dotAll: boolean,
  ) {}

  parse(): Node {
    const node = this.alt();
    if (this.i < this.src.length) throw new RegexSyntaxError(`unmatched ")" at position ${this.i}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alt(): Node {
    let left = this.seq();
    while (this.peek() === "|") {
      this.i++;
      left = { t: "alt", a: left, b: this.seq() };
    }
    return left;
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.peek() !== "|" && this.peek() !== ")") items.push(this.quantified(this.atom()));
    return { t: "seq", items };
  }

  private quantified(atom: Node): Node {
    let node = atom;
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) throw new RegexSyntaxError(`the repeat {${m[1]},${m[3]}} has its numbers in the wrong order`);
        if (min > 100 || (max !== Infinity && max > 100)) throw new RegexSyntaxError("a counted repeat may be at most {100}");
        this.i += m[0].length - 1;
      } else return node;
      this.i++;
      if (this.peek() === "?") this.i++; // lazy: the same matches
      if (node.t === "assert") throw new RegexSyntaxError("an anchor cannot be repeated");
      node = { t: "repeat", x: node, min, max };
    }
  }

  private atom(): Node {
    const c = this.src[this.i++];
    if (c === "(") {
      if (this.src.startsWith("?:", this.i)) this.i += 2;
      else if (/^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.test(this.src.slice(this.i))) this.i = this.src.indexOf(">", this.i) + 1;
      else if (this.peek() === "?") throw new RegexSyntaxError("lookaround (?=, (?!, (?<=, (?<!) is not supported: it has no linear-time match");
      const inner = this.alt();
      if (this.src[this.i++] !== ")") throw new RegexSyntaxError('a group is missing its ")"');
      return inner;
    }
    if (c === "[") return this.charClass();
    if (c === ".") return { t: "char", test: this.dotAll ? () => true : (x) => x !== 10 && x !== 13 && x !== 0x2028 && x !== 0x2029 };
    if (c === "^" || c === "$") return { t: "assert", kind: c };
    if (c === "\\") {
      const e = this.src[this.i++];
      if (e === "b" || e === "B") return { t: "assert", kind: e };
      return { t: "char", test: this.escape(e) };
    }
    if (c === "*" || c === "+" || c === "?" || c === "{") {
      if (c === "{" && !/^\{\d/.test(this.src.slice(this.i - 1))) return this.literal(c);
      throw new RegexSyntaxError(`"${c}" at position ${this.i - 1} has nothing to repeat`);
    }
    return this.literal(c);
  }

  private literal(c: string): Node {
    const code = c.charCodeAt(0);
    if (!this.ignoreCase) return { t: "char", test: (x) => x === code };
    const f = fold(code);
    return { t: "char", test: (x) => x === code || fold(x) === f };
  }

  /** The test for `\e` (outside or inside a class). */
  private escape(e: string | undefined): Test {
    if (e === undefined) throw new RegexSyntaxError("the pattern ends with a lone backslash");
    switch (e) {
      case "d":
        return isDigitCode;
      case "D":
        return (x) => !isDigitCode(x);
      case "w":
        return isWordCode;
      case "W":
        return (x) => !isWordCode(x);
      case "s":
        return isSpaceCode;
      case "S":
        return (x) => !isSpaceCode(x);
      case "n":
        return (x) => x === 10;
      case "r":
        return (x) => x === 13;
      case "t":
        return (x) => x === 9;
      case "f":
        return (x) => x === 12;
      case "v":
        return (x) => x === 11;
    }
    if (e === "x" || e === "u") {
      const len = e === "x" ? 2 : 4;
      const hex = this.src.slice(this.i, this.i + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new RegexSyntaxError(`\\${e} needs ${len} hex digits`);
      this.i += len;
      const code = parseInt(hex, 16);
      return (x) => x === code;
    }
    if (/[0-9]/.test(e) || e === "k") throw new RegexSyntaxError("backreferences (\\1, \\k<name>) are not supported: they have no linear-time match");
    if (/[A-Za-z]/.test(e)) throw new RegexSyntaxError(`the escape \\${e} is not supported`);
    const code = e.charCodeAt(0);
    return (x) => x === code;
  }

  private charClass(): Node {
    const negate = this.peek() === "^";
    if (negate) this.i++;
    const parts: Test[] = [];
    let first = true;
    while (this.i < this.src.length && (this.peek() !== "]" || first)) {
      first = false;
      const lo = this.classChar();
      if (typeof lo === "number" && this.peek() === "-" && this.src[this.i + 1] !== "]" && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.classChar();
        if (typeof hi !== "number") throw new RegexSyntaxError("a class range cannot end in a class escape");
        if (hi < lo) throw new RegexSyntaxError("a class range has its ends in the wrong order");
        parts.push((x) => x >= lo && x <= hi);
      } else parts.push(typeof lo === "number" ? (x) => x === lo : lo);
    }
    if (this.src[this.i++] !== "]") throw new RegexSyntaxError('a character class is missing its "]"');
    const inClass = this.ignoreCase
      ? (x: number) => parts.some((p) => p(x) || p(fold(x)) || p(String.fromCharCode(x).toUpperCase().charCodeAt(0)))
      : (x: number) => parts.some((p) => p(x));
    return { t: "char", test: negate ? (x) => !inClass(x) : inClass };
  }

  private classChar(): number | Test {
    const c = this.src[this.i++];
    if (c !== "\\") return c.charCodeAt(0);
    const e = this.src[this.i];
    if (e === "b") {
      this.i++;
      return 8;
    }
    this.i++;
    const test = this.escape(e);
    // A single-character escape stays a character, so it can be a range end.
    if (e !== undefined && !/[dDwWsS]/.test(e) && /[^A-Za-z0-9]/.test(e)) return e.charCodeAt(0);
    return test;
  }
}

function compile(node: Node, prog: Inst[]): void {
  const emit = (inst: Inst) => {
    if (prog.length >= MAX_PROGRAM) throw new RegexSyntaxError("the pattern is too complex (its counted repeats are too large)");
    prog.push(inst);
    return prog.length - 1;
  };
  switch (node.t) {
    case "char":
      emit({ op: "char", test: node.test });
      return;
    case "assert":
      emit({ op: "assert", kind: node.kind });
      return;
    case "seq":
      for (const n of node.items) compile(n, prog);
      return;
    case "alt": {
      const split = emit({ op: "split", a: 0, b: 0 });
      compile(node.a, prog);
      const jmp = emit({ op: "jmp", to: 0 });
      const b = prog.length;
      compile(node.b, prog);
      prog[split] = { op: "split", a: split + 1, b };
      prog[jmp] = { op: "jmp", to: prog.length };
      return;
    }
    case "repeat": {
      for (let k = 0; k < node.min; k++) compile(node.x, prog);
      if (node.max === Infinity) {
        const split = emit({ op: "split", a: 0, b: 0 });
        compile(node.x, prog);
        emit({ op: "jmp", to: split });
        prog[split] = { op: "split", a: split + 1, b: prog.length };
        return;
      }
      for (let k = node.min; k < node.max; k++) {
        const split = emit({ op: "split", a: 0, b: 0 });
        compile(node.x, prog);
        prog[split] = { op: "split", a: split + 1, b: prog.length };
      }
    }
  }
}

export interface LinearRegex {
  test(text: string): boolean;
}

/** Compiles `pattern` with `flags` (any of "ims"); throws RegexSyntaxError with a message for people. */
export function compileLinearRegex(pattern: string, flags = ""): LinearRegex {
  if (pattern.length > REGEX_MAX_LENGTH) throw new RegexSyntaxError(`the pattern is ${pattern.length} characters; at most ${REGEX_MAX_LENGTH} are allowed`);
  if (!/^[ims]*$/.test(flags)) throw new RegexSyntaxError('options may only be "i", "m" and "s"');
  const prog: Inst[] = [];
  compile(new Parser(pattern, flags.includes("i"), flags.includes("s")).parse(), prog);
  prog.push({ op: "match" });
  const multiline = flags.includes("m");
  return { test: (text) => run(prog, text, multiline) };
}

function run(prog: Inst[], text: string, multiline: boolean): boolean {
  const n = prog.length;
  let clist = new Int32Array(n);
  let nlist = new Int32Array(n);
  const mark = new Int32Array(n).fill(-1);
  let ccount: number;
  let ncount: number;
  let gen = 0;
  const code = (pos: number) => (pos >= 0 && pos < text.length ? text.charCodeAt(pos) : -1);
  const holds = (kind: "^" | "$" | "b" | "B", pos: number) => {
    if (kind === "^") return pos === 0 || (multiline && code(pos - 1) === 10);
    if (kind === "$") return pos === text.length || (multiline && code(pos) === 10);
    const boundary = isWordCode(code(pos - 1)) !== isWordCode(code(pos));
    return kind === "b" ? boundary : !boundary;
  };
  // Follows jumps, splits and assertions from `pc` at `pos`; answers true when it reaches a match.
  const add = (list: Int32Array, count: number, pc: number, pos: number): [number, boolean] => {
    const stack = [pc];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (mark[p] === gen) continue;
      mark[p] = gen;
      const inst = prog[p];
      if (inst.op === "match") return [count, true];
      if (inst.op === "jmp") stack.push(inst.to);
      else if (inst.op === "split") stack.push(inst.b, inst.a);
      else if (inst.op === "assert") {
        if (holds(inst.kind, pos)) stack.push(p + 1);
      } else list[count++] = p;
    }
    return [count, false];
  };
  // Every thread added for one position shares a generation, so no state is listed twice.
  gen++;
  let matched: boolean;
  [ccount, matched] = add(clist, 0, 0, 0);
  for (let pos = 0; ; pos++) {
    if (matched) return true;
    if (pos >= text.length) return false;
    const c = text.charCodeAt(pos);
    gen++;
    ncount = 0;
    for (let k = 0; k < ccount && !matched; k++) {
      const inst = prog[clist[k]] as { op: "char"; test: Test };
      if (inst.test(c)) [ncount, matched] = add(nlist, ncount, clist[k] + 1, pos + 1);
    }
    // A match may start at any position.
    if (!matched) [ncount, matched] = add(nlist, ncount, 0, pos + 1);
    [clist, nlist] = [nlist, clist];
    ccount = ncount;
  }
}
