/** Request-schema (ajv) errors → the API's `details`: one entry per top-level field, in words a form can show. */
import type { FastifyError } from "fastify";
import { describe, expect, it } from "vitest";
import { ajvDetails } from "../../src/api/errors.js";

const fail = (validation: unknown[], validationContext = "body") =>
  Object.assign(new Error("bad"), { validation, validationContext }) as unknown as FastifyError;

describe("ajvDetails", () => {
  it("reports a missing property against that property", () => {
    expect(
      ajvDetails(fail([{ keyword: "required", instancePath: "", params: { missingProperty: "name" }, message: "must have required property 'name'" }])),
    ).toEqual([{ field: "name", message: "is required" }]);
  });

  it("merges the alternatives of a union into one message and drops the anyOf summary", () => {
    const details = ajvDetails(
      fail([
        { keyword: "type", instancePath: "/secret", params: { type: "string" } },
        { keyword: "type", instancePath: "/secret", params: { type: "null" } },
        { keyword: "anyOf", instancePath: "/secret", message: "must match a schema in anyOf" },
      ]),
    );
    expect(details).toEqual([{ field: "secret", message: "must be string or null" }]);
  });

  it("lists allowed values of const and enum keywords", () => {
    expect(ajvDetails(fail([{ keyword: "enum", instancePath: "/role", params: { allowedValues: ["admin", "viewer"] } }]))).toEqual([
      { field: "role", message: 'must be one of "admin", "viewer"' },
    ]);
    expect(
      ajvDetails(
        fail([
          { keyword: "const", instancePath: "/source", params: { allowedValue: "app" } },
          { keyword: "const", instancePath: "/source", params: { allowedValue: "import" } },
        ]),
      ),
    ).toEqual([{ field: "source", message: 'must be one of "app", "import"' }]);
  });

  it("names the nested path inside the top-level field, with array indexes and escaped slashes", () => {
    expect(ajvDetails(fail([{ keyword: "type", instancePath: "/events/2", params: { type: "string" } }]))).toEqual([
      { field: "events", message: "events[2] must be string" },
    ]);
    expect(ajvDetails(fail([{ keyword: "maxLength", instancePath: "/headers/a~1b", message: "must NOT have more than 5 characters" }]))).toEqual([
      { field: "headers", message: "headers.a/b must NOT have more than 5 characters" },
    ]);
  });

  it("falls back to the validation context for errors of the whole value, and keeps one entry per field", () => {
    expect(ajvDetails(fail([{ keyword: "type", instancePath: "", params: { type: "object" } }], "querystring"))).toEqual([
      { field: "querystring", message: "must be object" },
    ]);
    const two = ajvDetails(
      fail([
        { keyword: "minLength", instancePath: "/name", message: "must NOT have fewer than 1 characters" },
        { keyword: "type", instancePath: "/url", params: { type: "string" } },
      ]),
    );
    expect(two.map((d) => d.field)).toEqual(["name", "url"]);
  });

  it("says 'is invalid' when ajv gives no message", () => {
    expect(ajvDetails(fail([{ keyword: "format", instancePath: "/at" }]))).toEqual([{ field: "at", message: "is invalid" }]);
  });
});
