// The REST API: JSON requests with the session's bearer token, errors as ApiError.

/** An API refusal: the server's stable `code` and its sentence for people. */
export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let token = null;
let onSessionEnded = () => {};

export function setToken(value) {
  token = value;
}

export function currentToken() {
  return token;
}

/** Called once when a request answers 401 for a session that was logged in. */
export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

/**
 * Sends one request. `body`: an object (sent as JSON) or a string (sent as is, with
 * `contentType`). Answers the parsed JSON, the text for non-JSON answers, or null for 204.
 */
export async function request(method, path, { body, contentType, query } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (typeof body === 'string') {
    payload = body;
    headers['content-type'] = contentType ?? 'text/plain; charset=utf-8';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(name, value);
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, 'network_error', 'The server cannot be reached. Check the connection and try again.');
  }
  return readResponse(response, path);
}

async function readResponse(response, path) {
  if (response.status === 204) return null;
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  let data = text;
  if (isJson && text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;
  const detail = data?.error ?? {};
  const error = new ApiError(
    response.status,
    detail.code ?? `http_${response.status}`,
    detail.message ?? `The server answered ${response.status} ${response.statusText}.`,
    detail.fields ?? [],
  );
  if (response.status === 401 && token && path !== '/api/v1/auth/login') {
    const ended = onSessionEnded;
    onSessionEnded = () => {};
    ended(error);
  }
  throw error;
}

/**
 * Uploads text with progress reports (`onProgress(fraction)`), for large CSV imports:
 * fetch cannot report upload progress, XMLHttpRequest can.
 */
export function upload(path, text, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', contentType);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network_error', 'The upload failed: the server cannot be reached.')));
    xhr.addEventListener('load', () => {
      const headers = new Headers({ 'content-type': xhr.getResponseHeader('content-type') ?? '' });
      const response = new Response(xhr.status === 204 ? null : xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers });
      readResponse(response, path).then(resolve, reject);
    });
    xhr.send(text);
  });
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, options = {}) => request('POST', path, { body, ...options }),
  put: (path, body) => request('PUT', path, { body }),
  patch: (path, body) => request('PATCH', path, { body }),
  delete: (path) => request('DELETE', path),
};
