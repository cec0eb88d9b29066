import type { FieldError } from "./types";

/** An answer of the API other than 2xx, with the parsed `{ error }` body when there was one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The message for one field of a 422, if the server named it. */
  fieldMessage(field: string): string | undefined {
    return this.details.find((d) => d.field === field)?.message;
  }
}

/** The server could not be reached at all (offline, restarting). */
export class NetworkError extends Error {
  constructor() {
    super("Could not reach the Hookline server. Check your connection and try again.");
    this.name = "NetworkError";
  }
}

export interface ApiClient {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** GET as a file (an export): the body as a Blob, with the same auth and errors as the rest. */
  download(path: string): Promise<Blob>;
}

const BASE = "/api/v1";

/**
 * A client bound to one bearer token (or to the current one, for an embedded portal whose host hands
 * it fresh tokens). `onUnauthorized` runs on any 401 so the app can send the user back to the token
 * prompt (admin) or explain that the portal link expired.
 */
export function createClient(token: string | (() => string), onUnauthorized: (error: ApiError) => void): ApiClient {
  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, asBlob = false): Promise<T> {
    const bearer = typeof token === "function" ? token() : token;
    const headers: Record<string, string> = { Authorization: `Bearer ${bearer}`, Accept: asBlob ? "*/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new NetworkError();
    }
    if (res.status === 204) return undefined as T;
    if (asBlob && res.ok) return (await res.blob()) as T;
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: FieldError[] } } | undefined)?.error;
      const error = new ApiError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? `The server answered ${res.status} ${res.statusText}.`,
        Array.isArray(e?.details) ? e.details : [],
      );
      if (res.status === 401) onUnauthorized(error);
      throw error;
    }
    return json as T;
  }
  return {
    get: (path, signal) => call("GET", path, undefined, signal),
    post: (path, body) => call("POST", path, body ?? {}),
    patch: (path, body) => call("PATCH", path, body),
    put: (path, body) => call("PUT", path, body),
    del: (path) => call("DELETE", path),
    download: (path) => call<Blob>("GET", path, undefined, undefined, true),
  };
}

/** One-off request used before a session exists (validating a typed token). */
export async function fetchMe(token: string): Promise<import("./types").Me> {
  const client = createClient(token, () => {});
  return client.get("/me");
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError || err instanceof NetworkError) return err.message;
  if (err instanceof Error) return err.message;
  return "Something went wrong.";
}

export const enc = encodeURIComponent;
