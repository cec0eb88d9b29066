/**
 * A webhook's payload filter (docs/delivery-policies.md, "Filters"): a JSON object matched against
 * the delivery body `{id, event, created_at, project_id, subject}` with MongoDB query semantics.
 * Checked here when a webhook is saved (every error names its path, e.g.
 * `filter.subject.status.$gtx`), compiled once per filter text, and matched at fan-out
 * (domain/fan-out.ts).
 *
 * Matching is sift's (MongoDB's semantics: dotted paths, an array field matching when any element
 * does, $in/$nin/$exists/$and/$or/$nor/$not), given only the operators listed below so that nothing
 * else (sift's `$where` evaluates JavaScript) can run even if a filter skipped this check. `$regex`
 * is ours: a linear-time engine (linear-regex.ts). Nested objects are turned into dotted paths
 * first, because a filter `{subject: {status: "failed"}}` means "the subject's status", not "a
 * subject equal to exactly this object".
 */
import siftModule from "sift";
import type { FieldError } from "./errors.js";
import { compileLinearRegex, REGEX_MAX_LENGTH, RegexSyntaxError } from "./linear-regex.js";

// sift is a CommonJS module: its operations are properties of the default export.
const sift = siftModule as unknown as typeof import("sift");

export const FILTER_MAX_BYTES = 4096;
export const FILTER_MAX_DEPTH = 10;
const LIST_MAX = 100;

const LOGICAL = ["$and", "$or", "$nor", "$not"];
const FIELD_OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$options", "$not"];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);
const depthOf = (v: unknown): number =>
  Array.isArray(v) ? 1 + Math.max(0, ...v.map(depthOf)) : isObject(v) ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;

/** Null when the filter is valid; otherwise one error per problem, each naming its path. */
export function filterErrors(raw: unknown, field = "filter"): FieldError[] {
  if (!isObject(raw)) return [{ field, message: 'filter must be a JSON object, e.g. {"subject.status": "failed"}, or null for no filter.' }];
  const bytes = Buffer.byteLength(JSON.stringify(raw));
  if (bytes > FILTER_MAX_BYTES) return [{ field, message: `filter is ${bytes} bytes as JSON; at most ${FILTER_MAX_BYTES} (4 KiB) are allowed.` }];
  const depth = depthOf(raw);
  if (depth > FILTER_MAX_DEPTH) return [{ field, message: `filter nests ${depth} levels deep; at most ${FILTER_MAX_DEPTH} are allowed.` }];
  const errors: FieldError[] = [];
  checkQuery(raw, field, errors);
  return errors;
}

function checkQuery(q: Obj, path: string, errors: FieldError[]): void {
  if (Object.keys(q).length === 0) errors.push({ field: path, message: "a query object must not be empty." });
  for (const [key, value] of Object.entries(q)) {
    const at = `${path}.${key}`;
    if (key.startsWith("$")) {
      if (key === "$not") {
        if (isObject(value)) checkQuery(value, at, errors);
        else errors.push({ field: at, message: "$not takes a query object." });
      } else if (LOGICAL.includes(key)) {
        if (!Array.isArray(value) || value.length === 0) errors.push({ field: at, message: `${key} takes a non-empty list of query objects.` });
        else
          value.forEach((v, i) =>
            isObject(v) ? checkQuery(v, `${at}.${i}`, errors) : errors.push({ field: `${at}.${i}`, message: "must be a query object." }),
          );
      } else {
        errors.push({ field: at, message: `unknown operator "${key}" here; a filter's top level takes field names and ${LOGICAL.join(", ")}.` });
      }
    } else if (key === "") errors.push({ field: at, message: "a field name must not be empty." });
    else checkCondition(value, at, errors);
  }
}

/** A field's condition: a plain value (equality), nested fields, or an object of operators. */
function checkCondition(value: Json, path: string, errors: FieldError[]): void {
  if (Array.isArray(value)) {
    if (!value.every(isScalar)) errors.push({ field: path, message: "an array to compare with may hold only strings, numbers, booleans and null." });
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  const ops = keys.filter((k) => k.startsWith("$"));
  if (ops.length === 0) return checkQuery(value, path, errors); // nested fields
  if (ops.length !== keys.length) {
    errors.push({ field: path, message: "an object mixes operators ($…) with field names; put the fields in dotted paths or in their own object." });
    return;
  }
  for (const op of keys) checkOperator(op, value[op], value, `${path}.${op}`, errors);
}

function checkOperator(op: string, arg: Json, all: Obj, path: string, errors: FieldError[]): void {
  const fail = (message: string) => errors.push({ field: path, message });
  switch (op) {
    case "$eq":
    case "$ne":
      if (!isScalar(arg)) fail(`${op} takes a string, number, boolean or null.`);
      return;
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      if (typeof arg !== "number" && typeof arg !== "string") fail(`${op} takes a number or a string.`);
      return;
    case "$in":
    case "$nin":
      if (!Array.isArray(arg) || !arg.every(isScalar) || arg.length > LIST_MAX)
        fail(`${op} takes a list of at most ${LIST_MAX} strings, numbers, booleans or null.`);
      return;
    case "$exists":
      if (typeof arg !== "boolean") fail("$exists takes true or false.");
      return;
    case "$regex":
      if (typeof arg !== "string") return void fail(`$regex takes a pattern string of at most ${REGEX_MAX_LENGTH} characters.`);
      try {
        // Bad options are $options' own error.
        compileLinearRegex(arg, typeof all.$options === "string" && /^[ims]*$/.test(all.$options) ? all.$options : "");
      } catch (err) {
        if (!(err instanceof RegexSyntaxError)) throw err;
        fail(`$regex: ${err.message}.`);
      }
      return;
    case "$options":
      if (typeof arg !== "string" || !/^[ims]*$/.test(arg)) fail('$options takes a string of the flags "i", "m" and "s".');
      else if (all.$regex === undefined) fail("$options goes with $regex.");
      return;
    case "$not":
      if (isObject(arg) && Object.keys(arg).length > 0 && Object.keys(arg).every((k) => k.startsWith("$"))) {
        for (const inner of Object.keys(arg)) checkOperator(inner, arg[inner], arg, `${path}.${inner}`, errors);
      } else fail('$not on a field takes an object of operators, e.g. {"$in": [1, 2]}.');
      return;
    default:
      fail(`unknown operator "${op}"; allowed: ${FIELD_OPERATORS.join(" ")}.`);
  }
}

/** `{a: {b: 1, c: {$gt: 2}}}` → `{"a.b": 1, "a.c": {$gt: 2}}`, through $and/$or/$nor/$not too. */
function flatten(q: Obj, prefix = ""): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(q)) {
    if (key === "$not" && prefix === "") out[key] = flatten(value as Obj);
    else if (LOGICAL.includes(key) && prefix === "") out[key] = (value as Obj[]).map((v) => flatten(v));
    else if (isObject(value) && !Object.keys(value).some((k) => k.startsWith("$"))) Object.assign(out, flatten(value, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = value;
  }
  return out;
}

type Operation = (params: any, ownerQuery: any, options: any, name: string) => unknown;

/** `$regex` through the linear-time engine; like MongoDB, only strings (or array elements that are strings) match. */
const $regex: Operation = (pattern: string, ownerQuery: { $options?: string }, options) => {
  const re = compileLinearRegex(pattern, ownerQuery.$options ?? "");
  return sift.createEqualsOperation((v: unknown) => typeof v === "string" && re.test(v), ownerQuery, options);
};

const OPERATIONS: Record<string, Operation> = {
  $eq: sift.$eq,
  $ne: sift.$ne,
  $gt: sift.$gt,
  $gte: sift.$gte,
  $lt: sift.$lt,
  $lte: sift.$lte,
  $in: sift.$in,
  $nin: sift.$nin,
  $exists: sift.$exists,
  $and: sift.$and,
  $or: sift.$or,
  $nor: sift.$nor,
  $not: sift.$not,
  $options: sift.$options,
  $regex,
};

export type FilterTest = (body: unknown) => boolean;

const compiled = new Map<string, FilterTest>();
const COMPILED_MAX = 5000;

/** The test of a stored filter (its JSON text, checked when saved); compiled once per text. */
export function compileFilter(text: string): FilterTest {
  let test = compiled.get(text);
  if (test === undefined) {
    const query = flatten(JSON.parse(text) as Obj);
    test = sift.createQueryTester(query, { operations: OPERATIONS as never }) as FilterTest;
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(text, test);
  }
  return test;
}
