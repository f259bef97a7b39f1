// The HTTP API as the console calls it: JSON in and out, problem+json errors as ApiError, the API key
// (when the server has keys) sent as a bearer token, and the ?api_key= query parameter for EventSource
// and links, which cannot send headers.

const KEY = 'collab.apiKey';

/** An HTTP error answered by the server (RFC 9457 problem details when it sent them). */
export class ApiError extends Error {
  constructor(status, problem, path) {
    super(problem?.detail || problem?.title || `HTTP ${status} on ${path}`);
    this.status = status;
    this.problem = problem || {};
    this.path = path;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** A path with its query (values that are null, undefined or '' are left out) and the API key if any. */
export function url(path, query = {}, withKey = false) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v));
  }
  if (withKey && apiKey()) params.set('api_key', apiKey());
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

/**
 * Calls the API. Returns {status, etag, body} (body parsed as JSON, or text for other types, or null).
 * 304 is returned, not thrown; other non-2xx statuses throw ApiError.
 */
export async function call(method, path, {query, body, ifMatch, ifNoneMatch} = {}) {
  const headers = {Accept: 'application/json, text/markdown;q=0.9, */*;q=0.1'};
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  if (ifMatch) headers['If-Match'] = ifMatch;
  if (ifNoneMatch) headers['If-None-Match'] = ifNoneMatch;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const target = url(path, query);
  const res = await fetch(target, {method, headers, body: payload, cache: 'no-store'});
  const etag = res.headers.get('ETag');
  if (res.status === 304) return {status: 304, etag, body: null};
  const type = res.headers.get('Content-Type') || '';
  let parsed = null;
  if (res.status !== 204) {
    const text = await res.text();
    parsed = type.includes('json') && text ? JSON.parse(text) : text;
  }
  if (!res.ok) throw new ApiError(res.status, typeof parsed === 'object' ? parsed : {detail: parsed}, target);
  return {status: res.status, etag, body: parsed};
}

export const get = (path, options) => call('GET', path, options);
export const post = (path, body, options = {}) => call('POST', path, {...options, body});
export const patch = (path, body, options = {}) => call('PATCH', path, {...options, body});

/**
 * Reads GET /collab/state/{kind} with If-None-Match. Returns {changed: false} on 304, else
 * {changed: true, etag, data, body}.
 */
export async function state(kind, etag) {
  const res = await get(`/collab/state/${encodeURIComponent(kind)}`, {ifNoneMatch: etag});
  if (res.status === 304) return {changed: false, etag};
  return {changed: true, etag: res.etag || res.body.etag, data: res.body.data, body: res.body};
}

/**
 * As state(), for kinds a server may not have (agents, batches): a 404 answers {missing: the ApiError}
 * instead of throwing.
 */
export async function optionalState(kind, etag) {
  try {
    return await state(kind, etag);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return {missing: e};
    throw e;
  }
}
