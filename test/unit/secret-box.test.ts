import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSealed, open, parseKeyRing, seal, sealedWith } from "../../src/domain/secret-box.js";

const key = () => crypto.randomBytes(32).toString("base64");

describe("secret box", () => {
  it("seals with the current key and opens with any key in the ring", () => {
    const k1 = key();
    const k2 = key();
    const old = parseKeyRing(`old:${k1}`);
    const sealed = seal(old, "whsec_abc");
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain("whsec_abc");
    expect(sealedWith(sealed)).toBe("old");
    const rotated = parseKeyRing(`new:${k2},old:${k1}`);
    expect(open(rotated, sealed)).toBe("whsec_abc");
    expect(sealedWith(seal(rotated, "x"))).toBe("new");
    expect(() => open(parseKeyRing(`new:${k2}`), sealed)).toThrow(/key "old"/);
  });

  it("uses a fresh IV each time and detects tampering", () => {
    const ring = parseKeyRing(key());
    const a = seal(ring, "same");
    const b = seal(ring, "same");
    expect(a).not.toBe(b);
    const raw = Buffer.from(a.split(":").pop()!, "base64");
    raw[raw.length - 1] ^= 1;
    const tampered = a.slice(0, a.lastIndexOf(":") + 1) + raw.toString("base64");
    expect(() => open(ring, tampered)).toThrow();
  });

  it("passes plaintext through (secrets stored before encryption was on)", () => {
    expect(open(null, "plain")).toBe("plain");
    expect(open(parseKeyRing(key()), "plain")).toBe("plain");
  });

  it("rejects bad key rings", () => {
    expect(() => parseKeyRing("")).toThrow();
    expect(() => parseKeyRing("short")).toThrow(/32 bytes/);
    expect(() => parseKeyRing(`${key()},${key()}`)).toThrow(/id/);
    const k = key();
    expect(() => parseKeyRing(`a:${k},a:${k}`)).toThrow(/twice/);
  });
});
