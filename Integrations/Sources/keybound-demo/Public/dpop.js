// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//
// DPoP (RFC 9449) in the browser with nothing but WebCrypto and IndexedDB: a non-extractable ECDSA P-256 key that
// survives reloads, its RFC 7638 thumbprint, and one fresh proof per request.

const DB_NAME = "keybound-demo";
const STORE = "keys";
const KEY_ID = "dpop-key";

const encoder = new TextEncoder();

/** base64url without padding (RFC 7515 §2). */
export function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function sha256(text) {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDatabase();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/**
 * The device key: read from IndexedDB, or generated once with `extractable: false` and stored there. IndexedDB
 * keeps the CryptoKey objects themselves (structured clone), so the private key never exists as bytes in the page.
 */
export async function loadOrCreateKey() {
  let pair = await withStore("readonly", (store) => store.get(KEY_ID));
  let created = false;
  if (!pair) {
    pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    await withStore("readwrite", (store) => store.put(pair, KEY_ID));
    created = true;
  }
  // A public key is always exportable; only its public members go into proofs.
  const full = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, jwk, jkt: await thumbprint(jwk), created };
}

/** Deletes the stored key (the next load makes a new one). */
export async function forgetKey() {
  await withStore("readwrite", (store) => store.delete(KEY_ID));
}

/** RFC 7638 thumbprint of an EC public JWK: the required members in lexicographic order, no whitespace. */
export async function thumbprint(jwk) {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return base64url(await sha256(canonical));
}

/**
 * A DPoP proof (RFC 9449 §4.2) for one request: a fresh `jti`, the method, the URL without query and fragment,
 * the time, `ath` when an access token goes with it, and the server's nonce when it asked for one. WebCrypto's
 * ECDSA signature is already the raw r||s that JWS wants (RFC 7518 §3.4).
 */
export async function makeProof(key, method, url, { accessToken, nonce } = {}) {
  const target = new URL(url, location.href);
  const header = { typ: "dpop+jwt", alg: "ES256", jwk: key.jwk };
  const payload = {
    jti: crypto.randomUUID(),
    htm: method,
    htu: target.origin + target.pathname,
    iat: Math.floor(Date.now() / 1000),
  };
  if (accessToken) payload.ath = base64url(await sha256(accessToken));
  if (nonce) payload.nonce = nonce;
  const signingInput =
    base64url(encoder.encode(JSON.stringify(header))) + "." + base64url(encoder.encode(JSON.stringify(payload)));
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.privateKey,
    encoder.encode(signingInput),
  );
  return signingInput + "." + base64url(signature);
}

/** Whether a refusal asks for a nonce: `use_dpop_nonce` in the challenge or the JSON error (RFC 9449 §8, §9). */
function asksForNonce(response, body) {
  const challenge = response.headers.get("WWW-Authenticate") || "";
  return challenge.includes('error="use_dpop_nonce"') || (body && body.error === "use_dpop_nonce");
}

/**
 * A client that signs every request. It remembers the last `DPoP-Nonce` the server sent and, when a request is
 * refused with `use_dpop_nonce`, retries it once with a new proof carrying the fresh nonce.
 */
export class DPoPClient {
  constructor(key) {
    this.key = key;
    this.nonce = null;
    this.last = null;
  }

  async fetch(method, path, { accessToken, body } = {}) {
    const url = new URL(path, location.href).href;
    const attempts = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof = await makeProof(this.key, method, url, { accessToken, nonce: this.nonce });
      const headers = { DPoP: proof };
      if (accessToken) headers.Authorization = `DPoP ${accessToken}`;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
      const text = await response.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      const nonce = response.headers.get("DPoP-Nonce");
      if (nonce) this.nonce = nonce;
      attempts.push({ status: response.status, error: json && json.error, nonceSent: Boolean(this.nonce) });
      this.last = { method, url, accessToken: accessToken || null, proof, status: response.status };
      if (!response.ok && attempt === 0 && nonce && asksForNonce(response, json)) continue;
      return {
        method,
        path,
        status: response.status,
        ok: response.ok,
        body: json ?? text,
        challenge: response.headers.get("WWW-Authenticate"),
        retried: attempts.length > 1,
        attempts,
      };
    }
  }
}
