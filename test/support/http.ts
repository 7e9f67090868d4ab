/** JSON from a URL, loosely typed: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function getJson(url: string, init?: RequestInit): Promise<any> {
  const response = await fetch(url, init);
  return response.json();
}

/** A form POST with optional HTTP Basic client authentication; returns status and parsed JSON. */
export async function postForm(url: string, form: Record<string, string>, basic?: { id: string; secret: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}
