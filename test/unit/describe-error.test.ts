/** The sentence the delivery log shows for each way a connection or request can fail. */
import { describe, expect, it } from "vitest";
import { describeError } from "../../src/delivery/sender.js";

const URL_ = new URL("https://hooks.example.com:8443/in");
const err = (code: string, extra: Record<string, unknown> = {}, message = `boom ${code}`) => Object.assign(new Error(message), { code, ...extra });
const say = (e: unknown) => describeError(e, URL_, 10_000);

describe("describeError", () => {
  it("names undici's timeouts as the attempt's timeout", () => {
    for (const code of ["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]) expect(say(err(code))).toBe("Timed out after 10000 ms");
  });

  it("says which host a failed DNS lookup was for", () => {
    expect(say(err("ENOTFOUND", { syscall: "getaddrinfo" }))).toBe("DNS lookup failed for hooks.example.com (ENOTFOUND)");
    expect(say(err("EAI_AGAIN"))).toBe("DNS lookup failed for hooks.example.com (EAI_AGAIN)");
    expect(say(Object.assign(new Error("x"), { syscall: "getaddrinfo" }))).toBe("DNS lookup failed for hooks.example.com (unknown error)");
  });

  it("names the peer address that refused or could not be reached, IPv6 in brackets", () => {
    expect(say(err("ECONNREFUSED", { address: "203.0.113.7", port: 8443 }))).toBe("Connection refused by 203.0.113.7:8443");
    expect(say(err("ECONNREFUSED", { address: "2001:db8::1", port: 443 }))).toBe("Connection refused by [2001:db8::1]:443");
    expect(say(err("ECONNREFUSED"))).toBe("Connection refused by hooks.example.com:8443");
    expect(say(err("EHOSTUNREACH", { address: "203.0.113.7", port: 8443 }))).toBe("Host unreachable: 203.0.113.7:8443 (EHOSTUNREACH)");
    expect(say(err("ETIMEDOUT", { address: "203.0.113.7", port: 8443 }))).toBe("Connection to 203.0.113.7:8443 timed out (ETIMEDOUT)");
  });

  it("tells resets and early closes apart", () => {
    expect(say(err("ECONNRESET"))).toBe("Connection reset by peer");
    expect(say(err("UND_ERR_SOCKET"))).toBe("Connection closed by peer before the response was complete");
    expect(say(err("EPIPE"))).toBe("Connection closed by peer before the response was complete");
  });

  it("speaks for the first address of a happy-eyeballs AggregateError", () => {
    const agg = new AggregateError([err("ECONNREFUSED", { address: "203.0.113.7", port: 443 }), err("ECONNREFUSED", { address: "2001:db8::1", port: 443 })]);
    expect(say(agg)).toBe("Connection refused by 203.0.113.7:443");
  });

  it("labels TLS failures and non-HTTP answers with the library's message", () => {
    expect(say(err("DEPTH_ZERO_SELF_SIGNED_CERT", {}, "self-signed certificate"))).toBe("TLS error: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)");
    expect(say(err("ERR_TLS_CERT_ALTNAME_INVALID", {}, "Hostname/IP does not match"))).toBe(
      "TLS error: Hostname/IP does not match (ERR_TLS_CERT_ALTNAME_INVALID)",
    );
    expect(say(err("HPE_INVALID_CONSTANT", {}, "Expected HTTP/"))).toBe("Invalid HTTP response: Expected HTTP/ (HPE_INVALID_CONSTANT)");
    expect(say(Object.assign(new Error("Response does not match the HTTP/1.1 protocol"), { name: "HTTPParserError" }))).toBe(
      "Invalid HTTP response: Response does not match the HTTP/1.1 protocol",
    );
  });

  it("falls back to the message, with the code when there is one", () => {
    expect(say(err("ESOMETHING", {}, "odd failure"))).toBe("odd failure (ESOMETHING)");
    expect(say(new Error("plain"))).toBe("plain");
    expect(say("a string")).toBe("a string");
  });
});
