import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAddress, checkWebhookUrl, parseAllowPrivateNetworks, type UrlPolicy } from "../../src/domain/url-policy.js";

const STRICT: UrlPolicy = { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] };
const policy = (over: Partial<UrlPolicy> = {}): UrlPolicy => ({ ...STRICT, ...over });

const reasonOf = (ip: string, p: UrlPolicy = STRICT) => {
  const verdict = checkAddress(ip, p);
  return verdict.allowed ? null : verdict.reason;
};

describe("parseAllowPrivateNetworks", () => {
  it.each([undefined, "", "  ", "false", "FALSE"])("reads %j as off", (raw) => {
    expect(parseAllowPrivateNetworks(raw)).toEqual({ allowPrivateNetworks: false, allowedCidrs: [] });
  });

  it.each(["true", " True "])("reads %j as allow everything", (raw) => {
    expect(parseAllowPrivateNetworks(raw)).toEqual({ allowPrivateNetworks: true, allowedCidrs: [] });
  });

  it("reads a comma list of IPv4 and IPv6 ranges, normalized", () => {
    expect(parseAllowPrivateNetworks("10.0.0.0/8, 127.0.0.0/8,FD00:0:0::/8,::1/128,192.168.1.5,")).toEqual({
      allowPrivateNetworks: false,
      allowedCidrs: ["10.0.0.0/8", "127.0.0.0/8", "fd00::/8", "::1/128", "192.168.1.5/32"],
    });
  });

  it.each([
    ["10.0.0.0/33", /prefix length; use 0 to 32/],
    ["fd00::/129", /prefix length; use 0 to 128/],
    ["10.0.0.0/x", /prefix length/],
    ["10/8", /not an IPv4 or IPv6/], // ipaddr.js alone would read this as 0.0.0.10/8
    ["0x0a.0.0.0/8", /not an IPv4 or IPv6/],
    ["intranet", /not an IPv4 or IPv6/],
    ["fe80::1%eth0/64", /not an IPv4 or IPv6/],
    ["10.0.0.1/8", /host bits set; did you mean 10\.0\.0\.0\/8/],
    ["fd00::1/8", /host bits set; did you mean fd00::\/8/],
  ])("refuses %j with a clear message", (raw, pattern) => {
    expect(() => parseAllowPrivateNetworks(raw)).toThrow(pattern);
    expect(() => parseAllowPrivateNetworks(raw)).toThrow(/comma-separated list of CIDR ranges such as 10\.0\.0\.0\/8/);
    expect(() => parseAllowPrivateNetworks(raw)).toThrow(raw);
  });
});

/** [range in the reason, first address, last address, neighbours outside that must pass]. */
const IPV4_RANGES: Array<[string, string, string, string[]]> = [
  ["0.0.0.0/8", "0.0.0.0", "0.255.255.255", ["1.0.0.0"]],
  ["10.0.0.0/8", "10.0.0.0", "10.255.255.255", ["9.255.255.255", "11.0.0.0"]],
  ["100.64.0.0/10", "100.64.0.0", "100.127.255.255", ["100.63.255.255", "100.128.0.0"]],
  ["127.0.0.0/8", "127.0.0.0", "127.255.255.255", ["126.255.255.255", "128.0.0.0"]],
  ["169.254.0.0/16", "169.254.0.0", "169.254.255.255", ["169.253.255.255", "169.255.0.0"]],
  ["172.16.0.0/12", "172.16.0.0", "172.31.255.255", ["172.15.255.255", "172.32.0.0"]],
  ["192.0.0.0/24", "192.0.0.0", "192.0.0.255", ["191.255.255.255", "192.0.1.0"]],
  ["192.0.2.0/24", "192.0.2.0", "192.0.2.255", ["192.0.1.255", "192.0.3.0"]],
  ["192.168.0.0/16", "192.168.0.0", "192.168.255.255", ["192.167.255.255", "192.169.0.0"]],
  ["198.18.0.0/15", "198.18.0.0", "198.19.255.255", ["198.17.255.255", "198.20.0.0"]],
  ["198.51.100.0/24", "198.51.100.0", "198.51.100.255", ["198.51.99.255", "198.51.101.0"]],
  ["203.0.113.0/24", "203.0.113.0", "203.0.113.255", ["203.0.112.255", "203.0.114.0"]],
  ["224.0.0.0/4", "224.0.0.0", "239.255.255.255", ["223.255.255.255"]],
  ["240.0.0.0/4", "240.0.0.0", "255.255.255.254", []],
  ["255.255.255.255/32", "255.255.255.255", "255.255.255.255", []],
];

const IPV6_RANGES: Array<[string, string, string, string[]]> = [
  ["::/128", "::", "::", []],
  ["::1/128", "::1", "::1", []],
  ["fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]],
  ["fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::"]],
  ["fec0::/10", "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []],
  ["ff00::/8", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []],
  ["100::/64", "100::", "100::ffff:ffff:ffff:ffff", ["100:0:0:1::", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]],
  ["2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ["2001:db7:ffff::1", "2001:db9::"]],
  ["3fff::/20", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", ["3ffe:ffff::1", "3fff:1000::"]],
  ["2001::/32", "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", ["2001:1::", "2000:ffff::1"]],
];

describe("checkAddress: blocked ranges", () => {
  it.each([...IPV4_RANGES, ...IPV6_RANGES])("refuses %s from first to last address", (cidr, first, last, outside) => {
    for (const ip of [first, last]) expect(reasonOf(ip), ip).toContain(`in ${cidr} (`);
    for (const ip of outside) expect(reasonOf(ip), ip).toBeNull();
  });

  it("names the kind of range", () => {
    expect(reasonOf("127.0.0.1")).toBe("127.0.0.1 is in 127.0.0.0/8 (loopback)");
    expect(reasonOf("100.64.1.1")).toMatch(/carrier-grade NAT/);
    expect(reasonOf("255.255.255.255")).toMatch(/broadcast/);
    expect(reasonOf("2001:0:4136:e378:8000:63bf:3fff:fdd2")).toMatch(/Teredo/);
    expect(reasonOf("::ffff:10.0.0.1")).toBe("::ffff:a00:1 is the IPv4-mapped form of 10.0.0.1, which is in 10.0.0.0/8 (private network)");
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"])("allows the public address %s", (ip) =>
    expect(checkAddress(ip, STRICT)).toEqual({ allowed: true }),
  );

  it("refuses what is not an IP address, without throwing", () => {
    for (const junk of ["", "example.com", "1.2.3.4.5", "::g", "256.0.0.1", "::ffff:0x7f.0.0.1", "::ffff:127.0.0.01"]) {
      expect(reasonOf(junk), junk).toMatch(/not an IP address/);
    }
  });

  it("reads inet_aton spellings the way the resolver would", () => {
    for (const ip of ["127.1", "0x7f.1", "017700000001", "2130706433", "[::1]", "fe80::1%eth0"]) {
      expect(reasonOf(ip), ip).not.toBeNull();
    }
  });
});

describe("checkAddress: IPv4 embedded in IPv6", () => {
  it.each([
    ["::ffff:127.0.0.1", "IPv4-mapped", "127.0.0.0/8"],
    ["::ffff:7f00:1", "IPv4-mapped", "127.0.0.0/8"],
    ["0:0:0:0:0:ffff:a9fe:a9fe", "IPv4-mapped", "169.254.0.0/16"],
    ["::ffff:0.0.0.0", "IPv4-mapped", "0.0.0.0/8"],
    ["::127.0.0.1", "IPv4-compatible", "127.0.0.0/8"],
    ["::a00:1", "IPv4-compatible", "10.0.0.0/8"],
    ["::ffff:0:c0a8:101", "IPv4-translated", "192.168.0.0/16"],
    ["64:ff9b::7f00:1", "NAT64", "127.0.0.0/8"],
    ["64:ff9b::10.1.2.3", "NAT64", "10.0.0.0/8"],
    ["64:ff9b:1::a9fe:a9fe", "local-use NAT64", "169.254.0.0/16"],
    ["64:ff9b:1:abcd:1:2:a00:1", "local-use NAT64", "10.0.0.0/8"],
    ["2002:7f00:1::", "6to4", "127.0.0.0/8"],
    ["2002:c0a8:101:5::1", "6to4", "192.168.0.0/16"],
    ["2002:6440:1:ffff:ffff:ffff:ffff:ffff", "6to4", "100.64.0.0/10"],
  ])("refuses %s (%s)", (ip, via, cidr) => {
    const reason = reasonOf(ip);
    expect(reason).toContain(`${via} form of`);
    expect(reason).toContain(`in ${cidr} (`);
  });

  it.each(["::ffff:8.8.8.8", "::808:808", "::ffff:0:808:808", "64:ff9b::8.8.8.8", "64:ff9b:1::808:808", "2002:808:808::1"])(
    "allows %s, which embeds a public address",
    (ip) => expect(checkAddress(ip, STRICT)).toEqual({ allowed: true }),
  );
});

describe("checkAddress: allowances", () => {
  it("allowPrivateNetworks allows everything", () => {
    const open = policy({ allowPrivateNetworks: true });
    for (const ip of ["127.0.0.1", "::1", "169.254.169.254", "fe80::1", "2001::1", "::ffff:10.0.0.1"]) {
      expect(checkAddress(ip, open), ip).toEqual({ allowed: true });
    }
  });

  it("allows only what is inside the allowed CIDRs", () => {
    const p = policy({ allowedCidrs: ["10.0.0.0/8", "fd00::/8"] });
    for (const ip of ["10.0.0.1", "10.255.255.255", "fd12::1", "::ffff:10.1.2.3", "64:ff9b::a01:203", "2002:a00:1::"]) {
      expect(checkAddress(ip, p), ip).toEqual({ allowed: true });
    }
    for (const ip of ["127.0.0.1", "192.168.0.1", "fc00::1", "::1", "::ffff:127.0.0.1", "2002:c0a8:1::"]) {
      expect(checkAddress(ip, p), ip).toMatchObject({ allowed: false });
    }
  });

  it("keeps IPv4 and IPv6 loopback separate", () => {
    expect(checkAddress("::1", policy({ allowedCidrs: ["127.0.0.0/8"] })).allowed).toBe(false);
    expect(checkAddress("127.0.0.1", policy({ allowedCidrs: ["::1/128"] })).allowed).toBe(false);
    expect(checkAddress("::1", policy({ allowedCidrs: ["::1/128"] })).allowed).toBe(true);
    expect(checkAddress("127.0.0.1", policy({ allowedCidrs: ["127.0.0.1/32"] })).allowed).toBe(true);
    expect(checkAddress("127.0.0.2", policy({ allowedCidrs: ["127.0.0.1/32"] })).allowed).toBe(false);
  });
});

describe("checkWebhookUrl", () => {
  const ok = (raw: unknown, p = STRICT) => checkWebhookUrl(raw, p);
  const messageOf = (raw: unknown, p = STRICT) => {
    const result = checkWebhookUrl(raw, p);
    return result.ok ? null : result.message;
  };

  it("accepts https URLs and returns them as given, trimmed (the sender parses them again)", () => {
    expect(ok("https://example.com/hooks")).toEqual({ ok: true, url: "https://example.com/hooks" });
    expect(ok("  HTTPS://Example.COM:8443/a?b=1 ")).toEqual({ ok: true, url: "HTTPS://Example.COM:8443/a?b=1" });
    expect(ok("https://example.com")).toEqual({ ok: true, url: "https://example.com" });
    expect(ok("https://bücher.example/x")).toEqual({ ok: true, url: "https://bücher.example/x" });
    expect(ok("https://8.8.8.8/x")).toEqual({ ok: true, url: "https://8.8.8.8/x" });
    expect(ok("https://[2606:4700:4700::1111]/")).toEqual({ ok: true, url: "https://[2606:4700:4700::1111]/" });
    expect(ok("https://localhost.example.com/")).toMatchObject({ ok: true });
  });

  it.each([42, null, undefined, {}, ["https://example.com"]])("says a non-string %j must be a string", (raw) => {
    expect(messageOf(raw)).toMatch(/^url must be a string/);
  });

  it("refuses an empty URL", () => {
    expect(messageOf("")).toMatch(/must not be empty/);
    expect(messageOf("   ")).toMatch(/must not be empty/);
  });

  it("allows 2048 characters and no more", () => {
    const base = "https://example.com/";
    expect(ok(base + "a".repeat(2048 - base.length))).toMatchObject({ ok: true });
    expect(messageOf(base + "a".repeat(2049 - base.length))).toMatch(/at most 2048 characters/);
    // Short as typed, long once percent-encoded: the stored form counts.
    expect(messageOf(base + "é".repeat(1000))).toMatch(/at most 2048 characters/);
    // Long as typed, short once normalized: what the user sent counts too.
    expect(messageOf(base + "./".repeat(1100))).toMatch(/at most 2048 characters/);
  });

  it("requires https unless http is allowed", () => {
    expect(messageOf("http://example.com/")).toMatch(/must use https:\/\/; plain http:\/\/ is not allowed/);
    expect(ok("http://example.com/", policy({ allowHttp: true }))).toEqual({ ok: true, url: "http://example.com/" });
    for (const raw of ["ftp://example.com/", "javascript:alert(1)", "file:///etc/passwd", "ws://example.com/", "data:,x"]) {
      expect(messageOf(raw), raw).toMatch(/must be an absolute URL starting with https:\/\//);
    }
    expect(messageOf("ftp://example.com/", policy({ allowHttp: true }))).toMatch(/starting with https:\/\/ or http:\/\//);
  });

  it.each(["/hooks", "example.com/hooks", "//example.com/", "https:example.com", "https:/example.com", "https:///example.com", "https:\\\\example.com"])(
    "refuses %j, which is not an absolute https:// URL as written",
    (raw) => expect(messageOf(raw)).toMatch(/must be an absolute URL/),
  );

  it("refuses URLs without a usable host", () => {
    expect(messageOf("https://")).toMatch(/not a valid URL/);
    expect(messageOf("https://:443/")).toMatch(/not a valid URL/);
    expect(messageOf("https://exa mple.com/")).toMatch(/spaces or control characters/);
    expect(messageOf("https://exa\tmple.com/")).toMatch(/spaces or control characters/);
  });

  it.each(["https://user:pw@example.com/", "https://user@example.com/", "https://:pw@example.com/"])("refuses credentials in %s", (raw) =>
    expect(messageOf(raw)).toMatch(/must not contain a user name or password/),
  );

  it.each(["https://example.com/#top", "https://example.com/#", "https://example.com/a?b#"])("refuses the fragment in %s", (raw) => {
    expect(messageOf(raw)).toMatch(/must not contain a fragment/);
  });

  it.each([
    ["https://127.1/", "127.0.0.1"],
    ["https://2130706433/", "127.0.0.1"],
    ["https://0x7f.1/", "127.0.0.1"],
    ["https://0X7F.0.0.1/", "127.0.0.1"],
    ["https://017700000001/", "127.0.0.1"],
    ["https://0177.0.0.1/", "127.0.0.1"],
    ["https://127.000.000.001/", "127.0.0.1"],
    ["https://0x7f000001/", "127.0.0.1"],
    ["https://127.0.0.1./", "127.0.0.1"],
    ["https://%31%32%37.0.0.1/", "127.0.0.1"],
    ["https://１２７.0.0.1/", "127.0.0.1"],
    ["https://[::ffff:127.0.0.1]/", "::ffff:7f00:1"],
    ["https://[::ffff:7f00:1]/", "::ffff:7f00:1"],
    ["https://[::1]/", "::1"],
    ["https://[0:0:0:0:0:0:0:1]:8443/", "::1"],
    ["https://[::]/", "::"],
    ["https://0.0.0.0/", "0.0.0.0"],
    ["https://0/", "0.0.0.0"],
    ["https://169.254.169.254/latest/meta-data", "169.254.169.254"],
    ["https://0xa9fea9fe/", "169.254.169.254"],
    ["https://10.0.0.1/", "10.0.0.1"],
    ["https://172.16.5.4/", "172.16.5.4"],
    ["https://192.168.1.1/", "192.168.1.1"],
    ["https://100.64.0.1/", "100.64.0.1"],
    ["https://224.0.0.1/", "224.0.0.1"],
    ["https://255.255.255.255/", "255.255.255.255"],
    ["https://[fe80::1]/", "fe80::1"],
    ["https://[fd00::1]/", "fd00::1"],
    ["https://[ff02::1]/", "ff02::1"],
    ["https://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"],
    ["https://[2002:7f00:1::1]/", "2002:7f00:1::1"],
    ["https://[::ffff:0:7f00:1]/", "::ffff:0:7f00:1"],
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
  ])("refuses %s (%s)", (raw, address) => {
    const message = messageOf(raw);
    expect(message).toMatch(/^url must not point to a private, loopback or otherwise internal address/);
    expect(message).toContain(`(${address} is`);
  });

  it("refuses an IPv6 literal with IPv4 number tricks outright", () => {
    expect(messageOf("https://[::ffff:0x7f.1]/")).toMatch(/not a valid URL/);
  });

  it("still refuses internal addresses when http is allowed", () => {
    expect(messageOf("http://127.0.0.1:9000/", policy({ allowHttp: true }))).toMatch(/internal address/);
  });

  it.each(["https://localhost/", "https://LOCALHOST:8443/", "https://localhost./", "https://api.localhost/", "https://a.b.localhost/"])(
    "refuses the local name in %s",
    (raw) => expect(messageOf(raw)).toMatch(/which is this machine/),
  );

  it("allows localhost and internal literals once private networks are allowed", () => {
    const open = policy({ allowPrivateNetworks: true, allowHttp: true });
    for (const raw of ["https://localhost/", "http://127.0.0.1:9000/", "https://[::1]/", "https://169.254.169.254/"]) {
      expect(ok(raw, open), raw).toMatchObject({ ok: true });
    }
  });

  it("allows literals inside the allowed CIDRs, in any spelling, and localhost when loopback is allowed", () => {
    const p = policy({ allowedCidrs: ["10.0.0.0/8", "127.0.0.0/8"] });
    expect(ok("https://10.1.2.3/", p)).toEqual({ ok: true, url: "https://10.1.2.3/" });
    expect(ok("https://0xa010203/", p)).toEqual({ ok: true, url: "https://0xa010203/" });
    expect(ok("https://[::ffff:10.1.2.3]/", p)).toMatchObject({ ok: true });
    expect(ok("https://localhost:9000/", p)).toMatchObject({ ok: true });
    expect(messageOf("https://192.168.0.1/", p)).toMatch(/internal address/);
    expect(messageOf("https://localhost/", policy({ allowedCidrs: ["10.0.0.0/8"] }))).toMatch(/this machine/);
    expect(ok("https://localhost/", policy({ allowedCidrs: ["::1/128"] }))).toMatchObject({ ok: true });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties. The oracle below is deliberately independent of ipaddr.js: plain integer ranges.

const v4 = (dotted: string) => dotted.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const BLOCKED_V4: Array<[number, number]> = IPV4_RANGES.map(([cidr]) => {
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return [v4(base), v4(base) + size - 1];
});
const isBlockedV4 = (n: number) => BLOCKED_V4.some(([lo, hi]) => n >= lo && n <= hi);

const blockedV4 = fc.constantFrom(...BLOCKED_V4).chain(([lo, hi]) => fc.integer({ min: lo, max: hi }));
const publicV4 = fc.integer({ min: 0, max: 0xffffffff }).filter((n) => !isBlockedV4(n));

const octets = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const dotted = (n: number) => octets(n).join(".");
const hex16 = (n: number) => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
type Radix = "dec" | "hex" | "oct";
const inRadix = (n: number, radix: Radix) => (radix === "hex" ? `0x${n.toString(16)}` : radix === "oct" ? `0${n.toString(8)}` : String(n));

/** Every way a host can write one IPv4 address in a URL. */
const spellings = (n: number, r: Radix[], upper: boolean, suffix: number): string[] => {
  const [a, b, c, d] = octets(n);
  const forms = [
    dotted(n),
    String(n),
    inRadix(n, "hex"),
    inRadix(n, "oct"),
    [a, b, c, d].map((x, i) => inRadix(x, r[i])).join("."),
    `${inRadix(a, r[0])}.${inRadix(b, r[1])}.${inRadix((c << 8) | d, r[2])}`,
    `${inRadix(a, r[0])}.${inRadix((b << 16) | (c << 8) | d, r[1])}`,
    `${dotted(n)}.`,
    `[::ffff:${dotted(n)}]`,
    `[::ffff:${hex16(n)}]`,
    `[0:0:0:0:0:ffff:${dotted(n)}]`,
    `[::${dotted(n)}]`,
    `[::ffff:0:${dotted(n)}]`,
    `[64:ff9b::${dotted(n)}]`,
    `[64:ff9b::${hex16(n)}]`,
    `[64:ff9b:1:${suffix.toString(16)}::${hex16(n)}]`,
    `[2002:${hex16(n)}:${suffix.toString(16)}::${suffix.toString(16)}]`,
  ];
  return upper ? forms.map((f) => f.toUpperCase()) : forms;
};

const radixes = fc.array(fc.constantFrom<Radix>("dec", "hex", "oct"), { minLength: 4, maxLength: 4 });
const tails = fc.constantFrom("", "/", ":443/", "/hooks?x=1", ":8443/a/b");

describe("properties", () => {
  it("no spelling of a blocked IPv4 address is ever accepted", () => {
    fc.assert(
      fc.property(blockedV4, radixes, fc.boolean(), fc.integer({ min: 0, max: 0xffff }), tails, (n, r, upper, suffix, tail) => {
        for (const host of spellings(n, r, upper, suffix)) {
          const result = checkWebhookUrl(`https://${host}${tail}`, STRICT);
          if (result.ok) throw new Error(`accepted ${host} (${dotted(n)}) as ${result.url}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("the same spellings of a public IPv4 address are accepted", () => {
    fc.assert(
      fc.property(publicV4, radixes, fc.integer({ min: 0, max: 0xffff }), (n, r, suffix) => {
        // IPv4-compatible ::a.b.c.d is excluded: for small n it is ::1 or ::, both blocked as IPv6.
        for (const host of spellings(n, r, false, suffix).filter((h) => !h.startsWith("[::" + dotted(n)))) {
          const result = checkWebhookUrl(`https://${host}/`, STRICT);
          if (!result.ok) throw new Error(`refused ${host} (${dotted(n)}): ${result.message}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("every spelling of an address inside an allowed CIDR is accepted", () => {
    fc.assert(
      fc.property(fc.constantFrom(...IPV4_RANGES.map(([cidr]) => cidr)), fc.nat(), radixes, (cidr, seed, r) => {
        const [lo, hi] = BLOCKED_V4[IPV4_RANGES.findIndex(([c]) => c === cidr)];
        const n = lo + (seed % (hi - lo + 1));
        const p = policy({ allowedCidrs: [cidr] });
        for (const host of spellings(n, r, false, 1).filter((h) => !h.startsWith("[::" + dotted(n)))) {
          const result = checkWebhookUrl(`https://${host}/`, p);
          if (!result.ok) throw new Error(`refused ${host} with ${cidr} allowed: ${result.message}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  const randomInV6Range = (cidr: string) => {
    const [base, bits] = cidr.split("/");
    const baseParts = expandV6(base);
    return fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((noise) =>
      baseParts.map((part, i) => {
        const fixed = Math.min(16, Math.max(0, Number(bits) - i * 16));
        const mask = fixed === 0 ? 0 : (0xffff << (16 - fixed)) & 0xffff;
        return (part & mask) | (noise[i] & ~mask & 0xffff);
      }),
    );
  };

  it("no address inside a blocked IPv6 range is accepted, compressed or not", () => {
    const arb = fc.constantFrom(...IPV6_RANGES.map(([cidr]) => cidr)).chain(randomInV6Range);
    fc.assert(
      fc.property(arb, fc.boolean(), (parts, upper) => {
        const full = parts.map((p) => p.toString(16)).join(":");
        for (const host of [full, new URL(`https://[${full}]/`).hostname.slice(1, -1)]) {
          const spelled = upper ? host.toUpperCase() : host;
          if (checkWebhookUrl(`https://[${spelled}]/`, STRICT).ok) throw new Error(`accepted [${spelled}]`);
          if (checkAddress(spelled, STRICT).allowed) throw new Error(`checkAddress allowed ${spelled}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

function expandV6(text: string): number[] {
  const [head, tail = ""] = text.split("::");
  const h = head ? head.split(":").map((x) => parseInt(x, 16)) : [];
  const t = tail ? tail.split(":").map((x) => parseInt(x, 16)) : [];
  return [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
}
