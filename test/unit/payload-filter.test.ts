import { describe, expect, it } from "vitest";
import { compileFilter, filterErrors } from "../../src/domain/payload-filter.js";

const body = (subject: unknown, event = "test-run.completed") => ({ id: "evt_1", event, created_at: "2026-12-07T10:00:00.000Z", project_id: "acme", subject });
const matches = (filter: unknown, b: unknown) => {
  expect(filterErrors(filter)).toEqual([]);
  return compileFilter(JSON.stringify(filter))(b);
};

describe("payload filters: matching", () => {
  it("matches nested objects as nested fields, and dotted paths", () => {
    expect(matches({ subject: { status: "failed" } }, body({ status: "failed", id: 7 }))).toBe(true);
    expect(matches({ subject: { status: "failed" } }, body({ status: "passed" }))).toBe(false);
    expect(matches({ "subject.run.status": "failed" }, body({ run: { status: "failed" } }))).toBe(true);
    expect(matches({ event: "test-run.completed" }, body({}))).toBe(true);
  });
  it("matches an array field when any element equals", () => {
    expect(matches({ "subject.labels": "bug" }, body({ labels: ["ui", "bug"] }))).toBe(true);
    expect(matches({ "subject.labels": "bug" }, body({ labels: ["ui"] }))).toBe(false);
  });
  it("knows the comparison, set, existence and logical operators", () => {
    const b = body({ failed: 3, type: "bug", tags: ["x"] });
    expect(matches({ "subject.failed": { $gt: 0 } }, b)).toBe(true);
    expect(matches({ "subject.failed": { $gte: 4 } }, b)).toBe(false);
    expect(matches({ "subject.failed": { $lt: 4, $lte: 3 } }, b)).toBe(true);
    expect(matches({ "subject.type": { $in: ["bug", "incident"] } }, b)).toBe(true);
    expect(matches({ "subject.type": { $nin: ["bug"] } }, b)).toBe(false);
    expect(matches({ "subject.type": { $ne: "bug" } }, b)).toBe(false);
    expect(matches({ "subject.type": { $eq: "bug" } }, b)).toBe(true);
    expect(matches({ "subject.owner": { $exists: false } }, b)).toBe(true);
    expect(matches({ $or: [{ "subject.type": "feature" }, { "subject.failed": 3 }] }, b)).toBe(true);
    expect(matches({ $and: [{ "subject.type": "bug" }, { "subject.failed": 0 }] }, b)).toBe(false);
    expect(matches({ $nor: [{ "subject.type": "bug" }] }, b)).toBe(false);
    expect(matches({ $not: { "subject.type": "bug" } }, b)).toBe(false);
    expect(matches({ "subject.failed": { $not: { $gt: 5 } } }, b)).toBe(true);
    expect(matches({ "subject.type": { $regex: "^B", $options: "i" } }, b)).toBe(true);
    expect(matches({ "subject.failed": { $regex: "3" } }, b)).toBe(false); // only strings match a pattern
  });
});

describe("payload filters: validation names the path", () => {
  const fields = (f: unknown) => filterErrors(f).map((e) => e.field);
  it("refuses unknown operators, with the path", () => {
    expect(fields({ subject: { status: { $gtx: 1 } } })).toEqual(["filter.subject.status.$gtx"]);
    expect(fields({ "subject.status": { $where: "sleep(1)" } })).toEqual(["filter.subject.status.$where"]);
    expect(fields({ $where: "1" })).toEqual(["filter.$where"]);
    expect(fields({ $or: [{ a: { $elemMatch: {} } }] })).toEqual(["filter.$or.0.a.$elemMatch"]);
  });
  it("refuses wrong operands and unsafe patterns", () => {
    expect(fields({ a: { $in: "x" } })).toEqual(["filter.a.$in"]);
    expect(fields({ a: { $exists: 1 } })).toEqual(["filter.a.$exists"]);
    expect(fields({ a: { $gt: [1] } })).toEqual(["filter.a.$gt"]);
    expect(fields({ a: { $regex: "(x)\\1" } })).toEqual(["filter.a.$regex"]);
    expect(fields({ a: { $regex: "a(?=b)" } })).toEqual(["filter.a.$regex"]);
    expect(fields({ a: { $regex: "a".repeat(201) } })).toEqual(["filter.a.$regex"]);
    expect(fields({ a: { $regex: "a", $options: "g" } })).toEqual(["filter.a.$options"]);
    expect(fields({ a: { $eq: 1, b: 2 } })).toEqual(["filter.a"]);
    expect(fields({ $and: [] })).toEqual(["filter.$and"]);
    expect(fields({})).toEqual(["filter"]);
    expect(fields([1])).toEqual(["filter"]);
  });
  it("refuses filters over 4 KiB or nested more than 10 deep", () => {
    expect(filterErrors({ a: "x".repeat(4100) })[0].message).toMatch(/4 KiB/);
    let deep: Record<string, unknown> = { z: 1 };
    for (let i = 0; i < 10; i++) deep = { a: deep };
    expect(filterErrors(deep)[0].message).toMatch(/at most 10/);
  });
});
