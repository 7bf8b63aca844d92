// The wall's own JSON endpoints (the browser never calls Prometheus or Alertmanager).

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(`${status} ${code}`);
    this.status = status; // 0: the wall did not answer
    this.code = code;
    this.detail = detail;
  }
}

export async function getJSON(path, timeoutMs = 10000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, { signal: controller.signal, headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, "wall_unreachable", String(err));
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (body && body.error) || `http_${response.status}`, body && body.detail);
  }
  return body;
}
