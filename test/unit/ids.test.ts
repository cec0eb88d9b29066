import { describe, expect, it } from "vitest";
import { encodeTime, isId, newId } from "../../src/domain/ids.js";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const decodeTime = (id: string) => [...id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11)].reduce((t, c) => t * 32 + ALPHABET.indexOf(c), 0);

describe("ids", () => {
  it("have their prefix, 26 lower-case Crockford base32 characters, and the time they were made", () => {
    const now = Date.UTC(2026, 11, 8, 1, 2, 3, 456);
    const id = newId("dlv", now + 1e6);
    expect(id).toMatch(/^dlv_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isId("dlv", id)).toBe(true);
    expect(isId("evt", id)).toBe(false);
    expect(decodeTime(id)).toBe(now + 1e6);
    expect(decodeTime(`x_${encodeTime(now)}`)).toBe(now);
    expect(encodeTime(0)).toBe("0000000000");
    expect(encodeTime(2 ** 48 - 1)).toBe("7zzzzzzzzz");
  });

  it("sort in the order made: within one millisecond, and while the clock goes back", () => {
    const t = Date.now() + 5e6;
    const ids = [newId("log", t)];
    for (let i = 0; i < 5000; i++) ids.push(newId("log", t));
    for (let i = 0; i < 100; i++) ids.push(newId("log", t - 1000)); // clock stepped back: keeps t
    ids.push(newId("log", t + 1));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(decodeTime(ids[5050])).toBe(t);
    expect(decodeTime(ids.at(-1)!)).toBe(t + 1);
  });

  it("increment the random part with carries, as the ULID spec's monotonic ids do", () => {
    const t = Date.now() + 9e6;
    let previous = newId("wh", t);
    for (let i = 0; i < 70_000; i++) {
      const id = newId("wh", t);
      const [a, b] = [previous.slice(13), id.slice(13)];
      // The random part is a base-32 number one greater than the last.
      let carry = 1;
      let expected = "";
      for (let k = a.length - 1; k >= 0; k--) {
        const d = ALPHABET.indexOf(a[k]) + carry;
        carry = d >> 5;
        expected = ALPHABET[d & 31] + expected;
      }
      expect(b).toBe(expected);
      previous = id;
    }
  });
});
