import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileLinearRegex, RegexSyntaxError } from "../../src/domain/linear-regex.js";

describe("linear-time $regex", () => {
  const cases: [string, string, string, boolean][] = [
    ["^fail", "", "failed", true],
    ["^fail", "", "not failed", false],
    ["ed$", "", "failed", true],
    ["FAIL", "i", "failed", true],
    ["a.c", "", "a\nc", false],
    ["a.c", "s", "a\nc", true],
    ["^b", "m", "a\nb", true],
    ["^(bug|feature)$", "", "feature", true],
    ["^(bug|feature)$", "", "features", false],
    ["^[a-c]{2,3}$", "", "abc", true],
    ["^[a-c]{2,3}$", "", "abcd", false],
    ["^[^0-9]+$", "", "abc", true],
    ["^[^0-9]+$", "", "ab1", false],
    ["\\bbug\\b", "", "a bug here", true],
    ["\\bbug\\b", "", "debug", false],
    ["^\\d{3}-\\w+\\s?$", "", "123-abc ", true],
    ["x*", "", "", true],
    ["(?:ab)+c", "", "xxababc", true],
    ["(?<kind>bug)", "", "bug", true],
    ["[.]", "", "a", false],
    ["a\\.b", "", "a.b", true],
    ["[A-Z]", "i", "q", true],
    ["^$", "", "", true],
  ];
  it.each(cases)("/%s/%s on %j → %s", (pattern, flags, text, expected) => {
    expect(compileLinearRegex(pattern, flags).test(text)).toBe(expected);
    // The same answer as JavaScript's engine on this subset.
    expect(new RegExp(pattern, flags).test(text)).toBe(expected);
  });

  it("refuses backreferences, lookaround and patterns over 200 characters", () => {
    for (const p of ["(a)\\1", "(?<x>a)\\k<x>", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b", "a".repeat(201), "a{1,1000}", "(", "a)", "[a", "*a"]) {
      expect(() => compileLinearRegex(p), p).toThrow(RegexSyntaxError);
    }
  });

  it("takes linear time on patterns that make a backtracking engine explode", () => {
    const text = "a".repeat(100_000) + "!";
    const started = performance.now();
    expect(compileLinearRegex("^(a+)+$").test(text)).toBe(false);
    expect(compileLinearRegex("(a|aa)*b").test(text)).toBe(false);
    expect(compileLinearRegex("^(\\w*)*\\d*\\d*\\d*$").test(text)).toBe(false);
    // JavaScript's RegExp needs years for the first one at this length; this takes well under a second.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("agrees with JavaScript's RegExp on random patterns of the subset", () => {
    const atom = fc.constantFrom("a", "b", ".", "[ab]", "[^a]", "\\d", "(a|b)", "(?:ab)", "^", "$");
    const quant = fc.constantFrom("", "", "*", "+", "?", "{1,2}");
    const pattern = fc
      .array(fc.tuple(atom, quant), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.map(([a, q]) => (a === "^" || a === "$" ? a : a + q)).join(""));
    fc.assert(
      fc.property(pattern, fc.stringMatching(/^[ab1\n]{0,8}$/), fc.constantFrom("", "i", "m", "s"), (p, text, flags) => {
        expect(compileLinearRegex(p, flags).test(text)).toBe(new RegExp(p, flags).test(text));
      }),
      { numRuns: 2000 },
    );
  });
});
