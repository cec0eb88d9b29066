import { describe, expect, it } from "vitest";
import { ValidationError, type FieldError } from "../../src/domain/errors.js";
import type { UrlPolicy } from "../../src/domain/url-policy.js";
import { generateSecret, validateWebhookInput, type WebhookInput } from "../../src/domain/webhook-rules.js";

const catalog = new Set(["test-run.completed", "issue.created", "issue.updated"]);
const urlPolicy: UrlPolicy = { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] };
const CREATE = { partial: false, catalog, urlPolicy };
const PATCH = { partial: true, catalog, urlPolicy };
const valid = { name: "CI", events: ["test-run.completed"], url: "https://example.com/hooks" };

function detailsOf(input: WebhookInput, opts = CREATE): FieldError[] {
  try {
    validateWebhookInput(input, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe("validation_failed");
    return (error as ValidationError).details;
  }
  throw new Error("expected a ValidationError");
}

const messageFor = (field: string, input: WebhookInput, opts = CREATE) => detailsOf(input, opts).find((d) => d.field === field)?.message;

describe("validateWebhookInput: create", () => {
  it("returns the cleaned fields", () => {
    expect(
      validateWebhookInput(
        { name: "  Nightly CI  ", events: ["issue.updated", "test-run.completed"], url: " https://Example.com/h ", secret: "s3cret", enabled: false },
        CREATE,
      ),
    ).toEqual({ name: "Nightly CI", events: ["issue.updated", "test-run.completed"], url: "https://Example.com/h", secret: "s3cret", enabled: false });
  });

  it("leaves out what was not sent", () => {
    expect(validateWebhookInput(valid, CREATE)).toEqual(valid);
  });

  it("requires name, events and url, all reported at once", () => {
    expect(detailsOf({})).toEqual([
      { field: "name", message: "name is required." },
      { field: "events", message: "events is required." },
      { field: "url", message: "url is required." },
    ]);
  });

  it("lists every bad field, not just the first", () => {
    const details = detailsOf({ name: "", events: [], url: "http://example.com", secret: "", enabled: "yes" });
    expect(details.map((d) => d.field)).toEqual(["name", "events", "url", "secret", "enabled"]);
  });

  it("treats a null secret as no secret", () => {
    expect(validateWebhookInput({ ...valid, secret: null }, CREATE).secret).toBeNull();
  });

  it("refuses a body that is not an object", () => {
    for (const body of [null, [], "x", 3]) {
      expect(detailsOf(body as WebhookInput)).toEqual([{ field: "body", message: "The request body must be a JSON object." }]);
    }
  });
});

describe("validateWebhookInput: patch", () => {
  it("requires nothing", () => {
    expect(validateWebhookInput({}, PATCH)).toEqual({});
  });

  it("validates what is present", () => {
    expect(validateWebhookInput({ enabled: true }, PATCH)).toEqual({ enabled: true });
    expect(detailsOf({ url: "https://127.0.0.1/" }, PATCH)).toEqual([
      { field: "url", message: expect.stringMatching(/must not point to a private, loopback/) },
    ]);
  });

  it("removes the secret with null and refuses an empty one", () => {
    expect(validateWebhookInput({ secret: null }, PATCH)).toEqual({ secret: null });
    expect(messageFor("secret", { secret: "" }, PATCH)).toMatch(/must not be empty; omit it or send null/);
  });

  it("cannot null the required fields", () => {
    expect(detailsOf({ name: null, events: null, url: null }, PATCH).map((d) => d.message)).toEqual([
      "name must be a string.",
      expect.stringMatching(/^events must be a list of event type names/),
      expect.stringMatching(/^url must be a string/),
    ]);
  });
});

describe("name", () => {
  it("is trimmed and 1 to 100 characters", () => {
    expect(validateWebhookInput({ name: ` ${"a".repeat(100)} ` }, PATCH).name).toBe("a".repeat(100));
    expect(messageFor("name", { name: "a".repeat(101) }, PATCH)).toBe("name must be at most 100 characters long (it has 101).");
    expect(messageFor("name", { name: "   " }, PATCH)).toBe("name must not be empty.");
  });

  it("counts characters, not UTF-16 units", () => {
    expect(validateWebhookInput({ name: "🚀".repeat(100) }, PATCH).name).toBe("🚀".repeat(100));
  });

  it("must be a single-line string", () => {
    expect(messageFor("name", { name: 5 }, PATCH)).toBe("name must be a string.");
    expect(messageFor("name", { name: "a\nb" }, PATCH)).toMatch(/control characters/);
  });
});

describe("events", () => {
  it.each([{}, "issue.created", 1, null])("must be a list (%j)", (events) => {
    expect(messageFor("events", { events }, PATCH)).toMatch(/must be a list of event type names/);
  });

  it("must not be empty", () => {
    expect(messageFor("events", { events: [] }, PATCH)).toBe("events must name at least one event type.");
  });

  it("must hold strings", () => {
    expect(messageFor("events", { events: ["issue.created", 3, null] }, PATCH)).toMatch(/only strings \(not at position 1, 2\)/);
  });

  it("must come from the catalog", () => {
    expect(messageFor("events", { events: ["issue.created", "nope"] }, PATCH)).toBe(
      'events contains an unknown event type: "nope"; see GET /api/v1/event-types for the catalog.',
    );
    expect(messageFor("events", { events: ["a", "b", "a"] }, PATCH)).toMatch(/unknown event types: "a", "b"/);
  });

  it("refuses test-event as reserved, even if a catalog lists it", () => {
    const message = messageFor("events", { events: ["test-event"] }, { ...PATCH, catalog: new Set([...catalog, "test-event"]) });
    expect(message).toBe('"test-event" is reserved for the Test action and cannot be subscribed to.');
    // …and is not also called unknown when the catalog leaves it out.
    expect(messageFor("events", { events: ["test-event"] }, PATCH)).toBe(message);
  });

  it("refuses duplicates", () => {
    expect(messageFor("events", { events: ["issue.created", "issue.updated", "issue.created"] }, PATCH)).toBe('events lists "issue.created" more than once.');
  });

  it("keeps a long list of problems readable", () => {
    const events = Array.from({ length: 50 }, (_, i) => `bad.${i}`);
    const message = messageFor("events", { events }, PATCH)!;
    expect(message).toMatch(/"bad\.4" and 45 more/);
    expect(message.length).toBeLessThan(200);
  });

  it("keeps the order given", () => {
    expect(validateWebhookInput({ events: ["issue.updated", "issue.created"] }, PATCH).events).toEqual(["issue.updated", "issue.created"]);
  });
});

describe("url, secret, enabled", () => {
  it("url follows the URL policy", () => {
    expect(messageFor("url", { url: "http://example.com/" }, PATCH)).toMatch(/must use https:\/\//);
    expect(validateWebhookInput({ url: "http://example.com/" }, { ...PATCH, urlPolicy: { ...urlPolicy, allowHttp: true } })).toEqual({
      url: "http://example.com/",
    });
    expect(messageFor("url", { url: "https://localhost/" }, PATCH)).toMatch(/this machine/);
  });

  it("secret is 1 to 256 characters", () => {
    expect(validateWebhookInput({ secret: "x" }, PATCH).secret).toBe("x");
    expect(validateWebhookInput({ secret: "x".repeat(256) }, PATCH).secret).toBe("x".repeat(256));
    expect(messageFor("secret", { secret: "x".repeat(257) }, PATCH)).toBe("secret must be at most 256 characters long.");
    expect(messageFor("secret", { secret: 12 }, PATCH)).toBe("secret must be a string, or null for no secret.");
  });

  it("enabled is a boolean", () => {
    for (const enabled of ["true", 1, null]) {
      expect(messageFor("enabled", { enabled }, PATCH)).toBe("enabled must be true or false.");
    }
  });

  it("a single bad field becomes the error message", () => {
    expect(() => validateWebhookInput({ enabled: "no" }, PATCH)).toThrow("enabled must be true or false.");
  });
});

describe("generateSecret", () => {
  it("is whsec_ plus base64 of 24 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(24);
    expect(validateWebhookInput({ secret }, PATCH).secret).toBe(secret);
  });

  it("is different every time", () => {
    expect(new Set(Array.from({ length: 100 }, generateSecret)).size).toBe(100);
  });
});
