/**
 * Which webhook URLs and target addresses Hookline may call (docs/security.md, "Outbound requests").
 *
 * Two checks use the same address rules: `checkWebhookUrl` when a webhook is saved (catches literal
 * IPs early, with a helpful message) and `checkAddress` at delivery time on every resolved address
 * (the check that actually stops SSRF, since host names can resolve anywhere).
 */
import ipaddr from "ipaddr.js";

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;
type Address = IPv4 | IPv6;
type Cidr = [Address, number];

export interface UrlPolicy {
  /** Accept `http://` URLs as well as `https://` (HOOKLINE_ALLOW_HTTP). */
  allowHttp: boolean;
  /** Turn every address check off (HOOKLINE_ALLOW_PRIVATE_NETWORKS=true). */
  allowPrivateNetworks: boolean;
  /** Ranges trusted even though they are blocked, e.g. `10.0.0.0/8` (HOOKLINE_ALLOW_PRIVATE_NETWORKS=<list>). */
  allowedCidrs: string[];
}

export const MAX_URL_LENGTH = 2048;

const IPV4_BLOCKED: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "'this network' / unspecified"],
  ["10.0.0.0/8", "private network"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private network"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation (TEST-NET-1)"],
  ["192.168.0.0/16", "private network"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation (TEST-NET-2)"],
  ["203.0.113.0/24", "documentation (TEST-NET-3)"],
  ["224.0.0.0/4", "multicast"],
  // Before 240/4 so the reason names it precisely.
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"],
];

const IPV6_BLOCKED: ReadonlyArray<readonly [string, string]> = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fe80::/10", "link-local"],
  ["fc00::/7", "unique local (private network)"],
  ["fec0::/10", "site-local"],
  ["ff00::/8", "multicast"],
  ["100::/64", "discard-only"],
  ["2001:db8::/32", "documentation"],
  ["3fff::/20", "documentation"],
  // A Teredo address hides its real IPv4 server and client obfuscated; refusing the range is simpler
  // and safer than decoding it.
  ["2001::/32", "Teredo tunnel"],
];

const parsedTable = (table: ReadonlyArray<readonly [string, string]>) => table.map(([cidr, label]) => ({ cidr, label, range: ipaddr.parseCIDR(cidr) }));

const IPV4_RANGES = parsedTable(IPV4_BLOCKED);
const IPV6_RANGES = parsedTable(IPV6_BLOCKED);

/** IPv6 prefixes whose low 32 bits name the IPv4 address the packet is delivered or translated to. */
const LOW_32_BIT_EMBEDDINGS: ReadonlyArray<readonly [Cidr, string]> = [
  [ipaddr.parseCIDR("::ffff:0:0/96"), "IPv4-mapped"],
  [ipaddr.parseCIDR("::/96"), "IPv4-compatible"],
  [ipaddr.parseCIDR("::ffff:0:0:0/96"), "IPv4-translated"],
  [ipaddr.parseCIDR("64:ff9b::/96"), "NAT64"],
  // RFC 8215 lets a site carve its own translator prefix out of this /48. Sites use /96 prefixes in
  // practice, and DNS64 there gives every IPv4-only host such an address, so refusing the /48
  // outright would stop all deliveries; the /96 layout is decoded instead.
  [ipaddr.parseCIDR("64:ff9b:1::/48"), "local-use NAT64"],
];

function inRange(addr: Address, [net, bits]: Cidr): boolean {
  return addr.kind() === net.kind() && addr.match(net, bits);
}

/** Every IPv4 address an IPv6 address may deliver to, with the name of the embedding. */
function embeddedIPv4(addr: IPv6): Array<{ v4: IPv4; via: string }> {
  const bytes = addr.toByteArray();
  const found: Array<{ v4: IPv4; via: string }> = [];
  for (const [range, via] of LOW_32_BIT_EMBEDDINGS) {
    if (inRange(addr, range)) found.push({ v4: new ipaddr.IPv4(bytes.slice(12)), via });
  }
  if (addr.parts[0] === 0x2002) found.push({ v4: new ipaddr.IPv4(bytes.slice(2, 6)), via: "6to4" });
  return found;
}

function blockedRange(addr: Address) {
  const table = addr.kind() === "ipv4" ? IPV4_RANGES : IPV6_RANGES;
  return table.find((entry) => inRange(addr, entry.range));
}

/**
 * Reads an address. IPv4 takes the inet_aton spellings (127.1, 0x7f.1) unless `strict`: the OS
 * resolver reads them that way too, so they must not slip through as names.
 */
function parseIp(ip: string, strict = false): Address | null {
  let text = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (!text.includes(":")) {
    const valid = strict ? ipaddr.IPv4.isValidFourPartDecimal(text) : ipaddr.IPv4.isValid(text);
    return valid ? ipaddr.IPv4.parse(text) : null;
  }
  // ipaddr.js reads "::1.2.3.4" as IPv4-mapped; a hex tail keeps RFC 4291's meaning (IPv4-compatible).
  const dottedTail = /^(.*:)([^:%]*\.[^:%]*)(%.*)?$/.exec(text);
  if (dottedTail) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(dottedTail[2])) return null;
    const [a, b, c, d] = ipaddr.IPv4.parse(dottedTail[2]).octets;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${dottedTail[1]}${hex(a, b)}:${hex(c, d)}${dottedTail[3] ?? ""}`;
  }
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : null;
}

function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addressPart = slash === -1 ? text : text.slice(0, slash);
  const bitsPart = slash === -1 ? null : text.slice(slash + 1);
  const address = addressPart.includes("%") ? null : parseIp(addressPart, true);
  if (!address) throw new Error(`"${text}" is not an IPv4 or IPv6 address or CIDR range.`);
  const max = address.kind() === "ipv4" ? 32 : 128;
  const bits = bitsPart === null ? max : /^\d{1,3}$/.test(bitsPart) ? Number(bitsPart) : NaN;
  if (!(bits >= 0 && bits <= max)) {
    throw new Error(`"${text}" has an invalid prefix length; use 0 to ${max}.`);
  }
  const network =
    address.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${bits}`);
  if (network.toString() !== address.toString()) {
    throw new Error(`"${text}" has host bits set; did you mean ${network}/${bits}?`);
  }
  return [address, bits];
}

export function parseAllowPrivateNetworks(raw: string | undefined): {
  allowPrivateNetworks: boolean;
  allowedCidrs: string[];
} {
  const text = (raw ?? "").trim();
  if (text === "" || text.toLowerCase() === "false") return { allowPrivateNetworks: false, allowedCidrs: [] };
  if (text.toLowerCase() === "true") return { allowPrivateNetworks: true, allowedCidrs: [] };
  const allowedCidrs = text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      try {
        const [address, bits] = parseCidr(item);
        return `${address}/${bits}`;
      } catch (error) {
        const expected = 'Expected "true", "false" or a comma-separated list of CIDR ranges such as 10.0.0.0/8,fd00::/8.';
        throw new Error(`${(error as Error).message} ${expected}`, { cause: error });
      }
    });
  return { allowPrivateNetworks: false, allowedCidrs };
}

/** Parsed ranges per list: every attempt checks its address, and the list is the config's, fixed. */
const parsedLists = new WeakMap<readonly string[], Cidr[]>();

function trustedRanges(cidrs: readonly string[]): Cidr[] {
  let ranges = parsedLists.get(cidrs);
  if (!ranges) parsedLists.set(cidrs, (ranges = cidrs.map(parseCidr)));
  return ranges;
}

export function checkAddress(ip: string, policy: UrlPolicy): { allowed: true } | { allowed: false; reason: string } {
  if (policy.allowPrivateNetworks) return { allowed: true };
  const addr = parseIp(ip);
  if (!addr) return { allowed: false, reason: `${ip} is not an IP address` };
  const trusted = trustedRanges(policy.allowedCidrs);
  const isTrusted = (a: Address) => trusted.some((cidr) => inRange(a, cidr));
  if (isTrusted(addr)) return { allowed: true };

  const own = blockedRange(addr);
  if (own) return { allowed: false, reason: `${addr} is in ${own.cidr} (${own.label})` };
  if (addr instanceof ipaddr.IPv6) {
    for (const { v4, via } of embeddedIPv4(addr)) {
      const hit = isTrusted(v4) ? undefined : blockedRange(v4);
      if (hit) {
        const reason = `${addr} is the ${via} form of ${v4}, which is in ${hit.cidr} (${hit.label})`;
        return { allowed: false, reason };
      }
    }
  }
  return { allowed: true };
}

type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

const fail = (message: string): UrlCheck => ({ ok: false, message });

const EXAMPLE = "for example https://example.com/webhooks";

export function checkWebhookUrl(raw: unknown, policy: UrlPolicy): UrlCheck {
  if (typeof raw !== "string") return fail(`url must be a string (${EXAMPLE}).`);
  const text = raw.trim();
  if (text === "") return fail(`url must not be empty (${EXAMPLE}).`);
  if (text.length > MAX_URL_LENGTH) return fail(`url must be at most ${MAX_URL_LENGTH} characters long.`);
  const schemes = policy.allowHttp ? "https:// or http://" : "https://";
  // WHATWG parsing forgives "https:example.com" and "https:\\example.com"; we want what users see.
  const prefix = /^(https?):\/\/(?![/\\])/i.exec(text);
  if (!prefix) return fail(`url must be an absolute URL starting with ${schemes} (${EXAMPLE}).`);
  if (prefix[1].toLowerCase() === "http" && !policy.allowHttp) {
    return fail("url must use https://; plain http:// is not allowed on this server.");
  }
  if (/[\u0000-\u0020\u007f]/.test(text)) {
    return fail("url must not contain spaces or control characters; percent-encode them.");
  }
  if (text.includes("#")) return fail("url must not contain a fragment (the part after #).");

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`url is not a valid URL (${EXAMPLE}).`);
  }
  if (url.username !== "" || url.password !== "") {
    return fail("url must not contain a user name or password; sign deliveries with a secret instead.");
  }
  if (url.hostname === "") return fail(`url must have a host name (${EXAMPLE}).`);
  if (url.href.length > MAX_URL_LENGTH) return fail(`url must be at most ${MAX_URL_LENGTH} characters long.`);

  const host = url.hostname.replace(/\.+$/, "");
  // WHATWG has already rewritten numeric hosts (127.1, 0x7f.1, 2130706433) to dotted decimal; the
  // broader ipaddr.js test is a second net in case a spelling ever slips past it.
  const isIpLiteral = host.startsWith("[") || ipaddr.IPv4.isValid(host);
  if (isIpLiteral) {
    const verdict = checkAddress(host, policy);
    if (!verdict.allowed) {
      return fail(`url must not point to a private, loopback or otherwise internal address (${verdict.reason}); use a public host.`);
    }
  } else if (isLocalhostName(host) && !loopbackAllowed(policy)) {
    return fail(`url must not point to ${host}, which is this machine; use a public host.`);
  }
  // Stored as given (users see what they typed); the sender parses it the same way and checks the
  // literal or resolved address again at every attempt.
  return { ok: true, url: text };
}

function isLocalhostName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost");
}

/** `localhost` is fine wherever loopback addresses are, e.g. with HOOKLINE_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8. */
function loopbackAllowed(policy: UrlPolicy): boolean {
  return checkAddress("127.0.0.1", policy).allowed || checkAddress("::1", policy).allowed;
}
