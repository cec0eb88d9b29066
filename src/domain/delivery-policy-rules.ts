/**
 * The delivery-policy fields of a webhook (docs/delivery-policies.md): `filter`, `rate_limit` and
 * `ordering`. Each may be null (on create: none; on PATCH: remove the option). Checked with the
 * webhook's other fields (webhook-rules.ts), every error naming its path.
 */
import type { FieldError } from "./errors.js";
import { filterErrors } from "./payload-filter.js";
import { rateLimitError, type RateLimit } from "./rate-limit.js";

export type Ordering = "none" | "fifo";

export interface PolicyInput {
  filter?: unknown;
  rate_limit?: unknown;
  ordering?: unknown;
}

export interface ValidPolicies {
  /** JSON text as stored; null removes it. */
  filter?: string | null;
  rate_limit?: RateLimit | null;
  ordering?: Ordering;
}

export function checkPolicies(input: PolicyInput, errors: FieldError[]): ValidPolicies {
  const out: ValidPolicies = {};
  if (input.filter === null) out.filter = null;
  else if (input.filter !== undefined) {
    const problems = filterErrors(input.filter);
    if (problems.length > 0) errors.push(...problems);
    else out.filter = JSON.stringify(input.filter);
  }
  if (input.rate_limit === null) out.rate_limit = null;
  else if (input.rate_limit !== undefined) {
    const problem = rateLimitError(input.rate_limit);
    if (problem) errors.push(problem);
    else out.rate_limit = { per_second: (input.rate_limit as RateLimit).per_second };
  }
  if (input.ordering === null) out.ordering = "none";
  else if (input.ordering !== undefined) {
    if (input.ordering === "none" || input.ordering === "fifo") out.ordering = input.ordering;
    else errors.push({ field: "ordering", message: 'ordering must be "none" (the default) or "fifo" (one at a time, in the order they were created).' });
  }
  return out;
}
