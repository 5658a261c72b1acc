// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//
// The demo page: log in with the device key, call the API, delete the account (which needs a recent login: RFC 9470
// step-up), log this device out. Every call is signed by dpop.js.
// `window.keybound` exposes the same actions as promises, for the browser test.

import { DPoPClient, forgetKey, loadOrCreateKey, makeProof } from "./dpop.js";

const TOKEN = "keybound-demo-token";
const $ = (id) => document.getElementById(id);

let key = null;
let client = null;

function token() {
  return sessionStorage.getItem(TOKEN);
}

function render() {
  $("key-status").textContent = key
    ? `ECDSA P-256, extractable: ${key.privateKey.extractable}, ${key.created ? "new, stored in IndexedDB" : "restored from IndexedDB"}`
    : "none";
  $("jkt").textContent = key ? key.jkt : "–";
  const current = token();
  $("session-status").textContent = current ? "demo-user (DPoP-bound token)" : "signed out";
  $("token").textContent = current ? current.slice(0, 32) + "…" : "–";
  $("nonce").textContent = client && client.nonce ? client.nonce : "not asked for";
}

function log(result) {
  const item = document.createElement("li");
  if (!result.ok) item.className = "refused";
  const line = document.createElement("div");
  line.className = "line";
  line.textContent = `${result.method} ${result.path} → ${result.status}`;
  const notes = [];
  if (result.retried) notes.push("retried once after use_dpop_nonce");
  if (result.steppedUp) notes.push("logged in again (login too old) and retried");
  for (const text of notes) {
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = text;
    line.append(note);
  }
  const body = document.createElement("pre");
  body.textContent = typeof result.body === "string" ? result.body : JSON.stringify(result.body, null, 1);
  item.append(line, body);
  $("log").prepend(item);
  render();
  return result;
}

async function tryExport() {
  const outcome = {};
  for (const format of ["jwk", "pkcs8"]) {
    try {
      await crypto.subtle.exportKey(format, key.privateKey);
      outcome[format] = "exported";
    } catch (error) {
      outcome[format] = error.name;
    }
  }
  const refused = Object.values(outcome).every((value) => value !== "exported");
  $("export-status").textContent = refused ? `refused (${outcome.jwk})` : "EXPORTED";
  return { refused, ...outcome };
}

async function login() {
  const result = await client.fetch("POST", "/token", { body: { username: "demo" } });
  if (result.ok) sessionStorage.setItem(TOKEN, result.body.access_token);
  return log(result);
}

async function call(method, path, body) {
  return log(await client.fetch(method, path, { accessToken: token(), body }));
}

/** Whether a refusal asks for a more recent login (RFC 9470 §3: `insufficient_user_authentication`). */
function asksForStepUp(result) {
  return result.status === 401 && (result.challenge || "").includes('error="insufficient_user_authentication"');
}

/**
 * "Delete account" needs a login at most `max_age` seconds old. When the server says the login is too old, the page
 * logs in again with the same non-extractable key (the token endpoint issues a new token with a fresh `auth_time`)
 * and retries once, without asking the user anything.
 */
async function deleteAccount() {
  const first = await client.fetch("POST", "/api/account/delete", { accessToken: token() });
  if (!asksForStepUp(first)) return log(first);
  log(first);
  const relogin = await login();
  if (!relogin.ok) return relogin;
  const retry = await client.fetch("POST", "/api/account/delete", { accessToken: token() });
  return log({ ...retry, steppedUp: true, firstChallenge: first.challenge, firstStatus: first.status });
}

async function logout() {
  const result = await call("POST", "/api/logout");
  return result;
}

async function forget() {
  await forgetKey();
  sessionStorage.removeItem(TOKEN);
  location.reload();
}

const actions = {
  login,
  me: () => call("GET", "/api/me"),
  order: (item = "coffee") => call("POST", "/api/orders", { item }),
  admin: () => call("GET", "/api/admin"),
  deleteAccount,
  logout,
};

async function start() {
  key = await loadOrCreateKey();
  client = new DPoPClient(key);
  for (const [id, action] of Object.entries(actions)) $(id).addEventListener("click", () => action());
  $("forget").addEventListener("click", forget);
  await tryExport();
  render();
  return { jkt: key.jkt, created: key.created };
}

const ready = start();

window.keybound = {
  ready,
  ...actions,
  tryExport,
  state: () => ({
    jkt: key.jkt,
    created: key.created,
    extractable: key.privateKey.extractable,
    token: token(),
    nonce: client.nonce,
  }),
  lastRequest: () => client.last,
  // Pretends the server's nonce went stale (the test checks that the page recovers).
  setNonce: (value) => {
    client.nonce = value;
    render();
  },
  // A proof for a request the page does not send (the test sends it from outside the browser).
  proofFor: (method, path) =>
    makeProof(key, method, new URL(path, location.href).href, { accessToken: token(), nonce: client.nonce }),
};
