/*===----------------------------------------------------------------------===
 * SPDX-License-Identifier: Apache-2.0
 * This source file is part of the Keybound open source project.
 *
 * keybound.h: the public C API of Keybound, a verifier of RFC 9449 DPoP requests.
 * This hand-written header is the specification of the C ABI: a function that is not declared here
 * is not part of it.
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 * - Every fallible function returns a kb_status: KB_OK (0) or one of the pinned codes below.
 * - Buffers are passed as a pointer plus a length, never as NUL-terminated strings. A NULL pointer with
 *   length 0 is an empty buffer (or "absent" where the comment says so); a NULL pointer with a non-zero
 *   length, or a length that cannot describe real memory (above PTRDIFF_MAX, e.g. SIZE_MAX), returns
 *   KB_ERR_INVALID_ARGUMENT and nothing is read.
 * - A pointer parameter that must not be NULL gets KB_ERR_INVALID_ARGUMENT when it is; nothing traps.
 * - The library keeps no pointer it was given once a call returns, with one exception: the callback
 *   tables and their context pointers (kb_config_set_replay_store, kb_config_set_key_miss_callback),
 *   which are kept until the last verifier made with them is freed.
 * - Text written into an optional caller buffer `errbuf` (errbuf_len bytes) is always NUL-terminated
 *   when errbuf_len > 0, and truncated to fit. NULL/0 means "no details wanted". There is no
 *   thread-local or per-handle "last error".
 * - Handles are opaque, made by one `_new` and released by one `_free`, which accepts NULL. Using a
 *   handle after its `_free` is undefined behaviour, as with free(3).
 *===----------------------------------------------------------------------===*/
#ifndef KEYBOUND_H
#define KEYBOUND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Version ===== */

#define KB_VERSION_MAJOR 1
#define KB_VERSION_MINOR 0
#define KB_VERSION_PATCH 0
#define KB_VERSION_NUMBER (KB_VERSION_MAJOR * 10000 + KB_VERSION_MINOR * 100 + KB_VERSION_PATCH)
#define KB_VERSION_STRING "1.0.0"

/* ===== Annotations ===== */

#if defined(__GNUC__) || defined(__clang__)
#define KB_API __attribute__((visibility("default")))
#define KB_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define KB_DEPRECATED(message) __attribute__((deprecated(message)))
#else
#define KB_API
#define KB_WARN_UNUSED_RESULT
#define KB_DEPRECATED(message)
#endif

/* Clang nullability. gcc rejects these under -pedantic, so they exist only for clang (and Swift); clang's
 * -pedantic note that they are an extension is silenced for this header only.
 * Every pointer the library checks for NULL is KB_NULLABLE. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-extension"
#define KB_NULLABLE _Nullable
#define KB_NONNULL _Nonnull
#else
#define KB_NULLABLE
#define KB_NONNULL
#endif

/* ===== Status codes ===== */

/* A status. The numbers are pinned and append-only: they are the codes of docs/design.md "Errors", the same
 * numbers the Swift API (KeyboundError.Code) and the CLI report. 1xx-5xx are verification outcomes;
 * 900-906 report misuse of this API and refused configuration; 950 is the keybound CLI's batch reader's. New
 * values are appended at the end of the enum, whatever their number. */
typedef int kb_status;

enum {
    KB_OK = 0,
    /* Headers (RFC 9449 §4.3, RFC 6750). */
    KB_ERR_MISSING_AUTHORIZATION = 100,
    KB_ERR_UNSUPPORTED_SCHEME = 101,
    KB_ERR_MALFORMED_AUTHORIZATION = 102,
    KB_ERR_MISSING_DPOP_PROOF = 103,
    KB_ERR_MULTIPLE_DPOP_PROOFS = 104,
    /* The DPoP proof (RFC 9449 §4). */
    KB_ERR_PROOF_MALFORMED = 200,
    KB_ERR_PROOF_TYP = 201,
    KB_ERR_PROOF_ALG = 202,
    KB_ERR_PROOF_JWK = 203,
    KB_ERR_PROOF_CRIT = 204,
    KB_ERR_PROOF_SIGNATURE = 205,
    KB_ERR_PROOF_CLAIMS = 206,
    KB_ERR_PROOF_HTM = 207,
    KB_ERR_PROOF_HTU = 208,
    KB_ERR_PROOF_IAT = 209,
    KB_ERR_PROOF_ATH = 210,
    KB_ERR_PROOF_REPLAYED = 211,
    /* Nonces (RFC 9449 §8): the result carries a fresh nonce. */
    KB_ERR_NONCE_REQUIRED = 220,
    KB_ERR_NONCE_INVALID = 221,
    /* The access token (RFC 9068, RFC 8725, RFC 9449 §6). */
    KB_ERR_TOKEN_MALFORMED = 300,
    KB_ERR_TOKEN_TYP = 301,
    KB_ERR_TOKEN_ALG = 302,
    KB_ERR_TOKEN_KID_UNKNOWN = 303,
    KB_ERR_TOKEN_KEY_MISMATCH = 304,
    KB_ERR_TOKEN_SIGNATURE = 305,
    KB_ERR_TOKEN_ISSUER = 306,
    KB_ERR_TOKEN_AUDIENCE = 307,
    KB_ERR_TOKEN_EXPIRED = 308,
    KB_ERR_TOKEN_NOT_YET_VALID = 309,
    KB_ERR_TOKEN_CLAIMS = 310,
    KB_ERR_TOKEN_BINDING = 311,
    KB_ERR_TOKEN_REVOKED = 312,
    KB_ERR_KEY_REVOKED = 313,
    /* Server-side failures: fail closed. */
    KB_ERR_REPLAY_CACHE_FULL = 500,
    KB_ERR_REPLAY_STORE_UNAVAILABLE = 501,
    KB_ERR_INTERNAL = 502,
    /* Misuse of this API. */
    KB_ERR_INVALID_ARGUMENT = 900,   /* a NULL or impossible argument, an unknown option or field */
    KB_ERR_BUFFER_TOO_SMALL = 901,   /* the output buffer is too small; the length needed is reported */
    KB_ERR_INVALID_CONFIG = 902,     /* a configuration value or combination is invalid */
    KB_ERR_INVALID_JWKS = 903,       /* a JWKS document is invalid (docs/design.md "Contracts → Defaults") */
    /* Reserved for the keybound CLI's batch reader: a batch line that is not a request. The library never returns
     * it; kb_status_* describe it so that a C host reading the CLI's output can name it. */
    KB_ERR_INVALID_INPUT_LINE = 950,
    /* Appended (append-only: values above keep their places). 503 is returned by a shared replay store's restart
     * guard; 212 by the per-key replay share (KB_OPT_REPLAY_KEY_SHARE); 314 and 315 by
     * kb_verify_with_requirements; 316 in Bearer migration mode (KB_OPT_ALLOW_BEARER). */
    KB_ERR_REPLAY_QUOTA_EXCEEDED = 212,             /* the proof key holds its share of live replay entries; HTTP
                                                     * 429 in every mode, token endpoint included, with the
                                                     * Retry-After of kb_result_retry_after */
    KB_ERR_INSUFFICIENT_USER_AUTHENTICATION = 314,  /* RFC 9470 step-up: newer `auth_time` or another `acr` needed */
    KB_ERR_INSUFFICIENT_SCOPE = 315,                /* RFC 6750 §3.1: the token lacks a required scope; HTTP 403 */
    KB_ERR_BOUND_TOKEN_AS_BEARER = 316,             /* KB_OPT_ALLOW_BEARER (RFC 9449 §7.2): a `cnf` token sent as
                                                     * Bearer; HTTP 401 `invalid_token`, never accepted */
    KB_ERR_REPLAY_STORE_RESTARTED = 503,            /* the shared replay store lost its data after the proof was
                                                     * made; a fresh proof succeeds */
    /* Issuer keys given as PEM (kb_config_add_issuer_pem; docs/design.md "Contracts → Issuer keys as PEM"). */
    KB_ERR_INVALID_KEY_ENCODING = 904,  /* no PEM block, a malformed or second one, an unread label, bad DER */
    KB_ERR_PRIVATE_KEY_GIVEN = 905,     /* the PEM text holds a private key */
    KB_ERR_UNUSABLE_KEY = 906           /* an unsupported key type or curve, a key failing the key rules, or an alg
                                         * that disagrees with the key */
};

/* Returns a short, static English description of `status` ("DPoP proof was already used"), or
 * "unknown status" for a number Keybound does not define. Never NULL; the text lives forever.
 * Thread-safe. */
KB_API const char *KB_NONNULL kb_status_string(kb_status status);

/* Returns the stable snake_case name of `status` ("proof_replayed", "ok", "invalid_argument"), or
 * "unknown" for a number Keybound does not define. Never NULL; static. Thread-safe. */
KB_API const char *KB_NONNULL kb_status_name(kb_status status);

/* Returns the RFC error of `status` ("invalid_dpop_proof", "invalid_token", "use_dpop_nonce",
 * "invalid_request", "insufficient_scope", "insufficient_user_authentication"), or NULL when the RFCs give
 * none (missing credentials, server failures, API misuse, unknown numbers). Static. Thread-safe. */
KB_API const char *KB_NULLABLE kb_status_rfc_error(kb_status status);

/* Returns the HTTP status a resource server answers `status` with (200 for KB_OK, 400, 401, 403, 429, 500 or
 * 503), or 0 for a number Keybound does not define. Thread-safe. */
KB_API int kb_status_http_status(kb_status status);

/* Returns KB_VERSION_NUMBER as the library was built. Compare it with the header's KB_VERSION_NUMBER
 * to catch a header that does not match the library. Thread-safe. */
KB_API uint32_t kb_version_number(void);

/* Returns KB_VERSION_STRING as the library was built ("1.0.0"). Static; never NULL. Thread-safe. */
KB_API const char *KB_NONNULL kb_version_string(void);

/* ===== Crypto backends ===== */

/* The crypto library a verifier runs on. KB_BACKEND_DEFAULT is the library's own default: OpenSSL when
 * the library was built with it (scripts/build-capi.sh, the usual flavour), swift-crypto in the flavour built with
 * scripts/build-capi.sh --backend swift-crypto, which links no libcrypto. Every rule Keybound enforces holds
 * identically on both; see docs/backends.md for which to choose. */
typedef int kb_backend;
#define KB_BACKEND_DEFAULT 0
#define KB_BACKEND_OPENSSL 1
#define KB_BACKEND_SWIFT_CRYPTO 2

/* Returns the name of the library's default backend: "openssl" or "swift-crypto". Static; never NULL.
 * Thread-safe. */
KB_API const char *KB_NONNULL kb_backend_name(void);

/* Returns 1 when `backend` is compiled into this library (KB_BACKEND_DEFAULT always is), else 0. Thread-safe. */
KB_API int kb_backend_available(kb_backend backend);

/* ===== Configuration ===== */

/* A verifier configuration: a builder, read by kb_verifier_new.
 * Thread-safety: a kb_config may be used by one thread at a time. It is not needed after
 * kb_verifier_new returns, and one config may make several verifiers. */
typedef struct kb_config kb_config;

/* Options for kb_config_set_int and kb_config_set_str. Values are pinned. Ranges are checked by
 * kb_verifier_new (KB_ERR_INVALID_CONFIG, with the reason in its errbuf) unless said otherwise. */
typedef int kb_option;

enum {
    KB_OPT_PROOF_MAX_AGE_SECONDS = 1,      /* int, 0..86400, default 60 (RFC 9449 §11.1) */
    KB_OPT_CLOCK_SKEW_SECONDS = 2,         /* int, 0..3600, default 5 */
    KB_OPT_STRICT_TOKEN_TYPE = 3,          /* int 0 or 1 (checked at once), default 0 (RFC 9068 §4) */
    KB_OPT_MAX_TOKEN_BYTES = 4,            /* int, 64..1048576, default 8192 */
    KB_OPT_MAX_PROOF_BYTES = 5,            /* int, 64..1048576, default 8192 */
    KB_OPT_MAX_JSON_DEPTH = 6,             /* int, 2..64, default 16 */
    KB_OPT_MAX_JTI_BYTES = 7,              /* int, 1..4096, default 256 */
    KB_OPT_RSA_MIN_BITS = 8,               /* int, 2048..8192, default 2048 */
    KB_OPT_RSA_MAX_BITS = 9,               /* int, 2048..8192, at least RSA_MIN_BITS, default 4096 */
    KB_OPT_PROOF_KEY_CACHE_SIZE = 10,      /* int, 0..16777216, default 65536 */
    KB_OPT_TOKEN_CACHE_SIZE = 11,          /* int, 0..16777216, default 65536 */
    KB_OPT_REPLAY_CACHE_CAPACITY = 12,     /* int, 1..2^30, default 1048576 (in-process store only) */
    KB_OPT_KEY_MISS_INTERVAL_SECONDS = 13, /* int, >= 0, default 30 */
    KB_OPT_MAX_REVOCATIONS = 14,           /* int, >= 0, default 1000000 */
    KB_OPT_ADVERTISE_ALGORITHMS = 15,      /* int 0 or 1 (checked at once), default 1: `algs` in challenges */
    KB_OPT_PROOF_ALGORITHMS = 16,          /* int, a non-empty mask of KB_ALG_* (checked at once), default all */
    KB_OPT_TOKEN_ALGORITHMS = 17,          /* int, a non-empty mask of KB_ALG_* (checked at once), default all */
    KB_OPT_NONCE_MODE = 18,                /* int, one of KB_NONCE_* (checked at once), default KB_NONCE_OFF */
    KB_OPT_NONCE_WINDOW_SECONDS = 19,      /* int, 1..86400, default 300 */
    KB_OPT_EXTERNAL_BASE_URL = 20,         /* str, absolute http(s) URL without query; NULL/0 unsets it */
    /* Appended (append-only: values above keep their places). */
    KB_OPT_READ_CLOCK = 21,                /* int 0 or 1 (checked at once), default 0: with 1, a `now` argument of
                                            * KB_NOW_CLOCK makes the call read the system clock (see KB_NOW_CLOCK) */
    KB_OPT_AUTH_TIME_FROM_IAT = 22,        /* int 0 or 1 (checked at once), default 0: a token's `iat` stands in for a
                                            * missing `auth_time` under a max_age requirement (weaker: a refresh mints
                                            * a new `iat` without the user authenticating again) */
    KB_OPT_ALLOW_BEARER = 23,              /* int 0 or 1 (checked at once), default 0: Bearer migration mode (RFC 9449
                                            * §7.2). With 1, kb_verify also accepts `Authorization: Bearer <token>`
                                            * with no DPoP header for a JWT access token without `cnf` (the result has
                                            * no KB_FIELD_JKT nor KB_FIELD_PROOF_JTI, and no replay entry is made); a
                                            * token with `cnf` as Bearer is KB_ERR_BOUND_TOKEN_AS_BEARER; Bearer with a
                                            * DPoP header is KB_ERR_MALFORMED_AUTHORIZATION; every challenge lists
                                            * both schemes. With 0, Bearer is KB_ERR_UNSUPPORTED_SCHEME. */
    KB_OPT_REPLAY_KEY_SHARE = 24           /* int, the most live in-process replay entries one proof key (jkt) may
                                            * hold, past which its proofs get KB_ERR_REPLAY_QUOTA_EXCEEDED:
                                            * 0..KB_OPT_REPLAY_CACHE_CAPACITY, 0 = off, -1 = the default,
                                            * capacity / 8 (docs/design.md "Per-key replay share"); per-key
                                            * values with kb_config_set_replay_key_share */
};

/* The `now` sentinel (INT64_MIN). Every call that takes `int64_t now` (Unix seconds) uses the caller's value as it
 * is, unless the verifier was made with KB_OPT_READ_CLOCK set to 1 and `now` is KB_NOW_CLOCK: the call then reads
 * the system's wall clock (CLOCK_REALTIME, whole seconds) once, at its start. Without the option, KB_NOW_CLOCK is an
 * ordinary (far past) time, exactly as in earlier versions, so a host that never sets the option sees no change. */
#define KB_NOW_CLOCK INT64_MIN

/* JWS algorithms, as a bit mask (RFC 7518, RFC 8037, RFC 9864). */
enum {
    KB_ALG_ES256 = 1 << 0,
    KB_ALG_ES384 = 1 << 1,
    KB_ALG_ES512 = 1 << 2,
    KB_ALG_RS256 = 1 << 3,
    KB_ALG_RS384 = 1 << 4,
    KB_ALG_RS512 = 1 << 5,
    KB_ALG_PS256 = 1 << 6,
    KB_ALG_PS384 = 1 << 7,
    KB_ALG_PS512 = 1 << 8,
    KB_ALG_EDDSA = 1 << 9,
    KB_ALG_ED25519 = 1 << 10,
    KB_ALG_ALL = (1 << 11) - 1
};

/* Nonce modes (RFC 9449 §8). With nonces on, at least one secret must be added. */
enum {
    KB_NONCE_OFF = 0,            /* a proof's `nonce` claim is ignored */
    KB_NONCE_REQUIRED = 1,       /* every proof must carry a valid nonce */
    KB_NONCE_REQUIRED_BOUND = 2  /* as KB_NONCE_REQUIRED, each nonce bound to the client key's jkt */
};

/* The length of a nonce from kb_mint_nonce (base64url of 20 bytes). */
#define KB_NONCE_LENGTH 27

/* Creates a configuration holding docs/design.md's defaults, no issuers, the in-process replay store and no
 * callbacks. On success *out receives the handle, to release with kb_config_free.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT when out is NULL. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_new(kb_config *KB_NULLABLE *KB_NULLABLE out);

/* Releases a configuration. NULL is a no-op. A replay store set on it is released too (its destroy
 * runs when no verifier holds it any more). */
KB_API void kb_config_free(kb_config *KB_NULLABLE cfg);

/* Sets an integer option (see kb_option).
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an unknown option or a string option;
 * KB_ERR_INVALID_CONFIG for a value the option's comment says is checked at once. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_int(kb_config *KB_NULLABLE cfg, kb_option option,
                                                         int64_t value);

/* Sets a string option (see kb_option); the bytes are copied and must be UTF-8.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an unknown or integer option, an invalid
 * buffer or bytes that are not UTF-8. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_str(kb_config *KB_NULLABLE cfg, kb_option option,
                                                         const uint8_t *KB_NULLABLE value, size_t value_len);

/* Adds a trusted issuer: its exact `iss` value (compared byte for byte) and its JWK Set document
 * (RFC 7517 §5, UTF-8 JSON). Both are copied; the JWKS is read by kb_verifier_new. Audiences are added
 * with kb_config_add_audience.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer or a non-UTF-8 issuer;
 * KB_ERR_INVALID_CONFIG for an empty issuer or one added before (except an issuer that only
 * kb_config_add_issuer_pem added: it gets this JWK Set beside its PEM keys). */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_issuer(kb_config *KB_NULLABLE cfg,
                                                            const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                                                            const uint8_t *KB_NULLABLE jwks_json, size_t jwks_len);

/* Adds an `aud` value this server accepts from an issuer added before (a token must name at least one
 * of its issuer's audiences; RFC 9068 §4). Copied.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer or non-UTF-8 bytes;
 * KB_ERR_INVALID_CONFIG when the issuer was not added. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_audience(kb_config *KB_NULLABLE cfg,
                                                              const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                                                              const uint8_t *KB_NULLABLE audience,
                                                              size_t audience_len);

/* Adds one key to a trusted issuer, given as PEM text instead of a JWK: a public key (`-----BEGIN PUBLIC KEY-----`,
 * a SubjectPublicKeyInfo) or an X.509 certificate (`-----BEGIN CERTIFICATE-----`), with the `kid` its tokens carry
 * and, optionally, the one JWS algorithm it may verify (`alg`, e.g. "ES256"; NULL/0 for any algorithm of the key's
 * type). Of a certificate only the subject public key is used: its signature, validity, extensions and chain are
 * NOT checked. The text must hold exactly one such block (text outside it is ignored); a private key block
 * anywhere in it is refused. The issuer is added when it was not (kb_config_add_issuer may then still give it a
 * JWK Set, once); its keys are its JWK Set's plus every PEM key, and each kid must be unique. Everything is copied;
 * the PEM is read by kb_verifier_new with the configuration's backend, under the same key rules as a JWK.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer, or an issuer, kid or alg that is not
 * UTF-8; KB_ERR_INVALID_CONFIG for an empty issuer or kid, or an unknown alg. kb_verifier_new then returns
 * KB_ERR_INVALID_KEY_ENCODING, KB_ERR_PRIVATE_KEY_GIVEN or KB_ERR_UNUSABLE_KEY for a key it refuses, and
 * KB_ERR_INVALID_CONFIG for two keys of one issuer with the same kid. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_issuer_pem(kb_config *KB_NULLABLE cfg,
                                                                const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                                                                const uint8_t *KB_NULLABLE kid, size_t kid_len,
                                                                const uint8_t *KB_NULLABLE alg, size_t alg_len,
                                                                const uint8_t *KB_NULLABLE pem, size_t pem_len);

/* Adds a nonce secret (at least 32 bytes, copied). Secrets are tried in the order added; the first one
 * added mints new nonces. To rotate without a gap: put the new secret first, keep the old one for one
 * window. Nonces are turned on by KB_OPT_NONCE_MODE.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg or an invalid buffer; KB_ERR_INVALID_CONFIG for
 * a secret under 32 bytes. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_nonce_secret(kb_config *KB_NULLABLE cfg,
                                                                  const uint8_t *KB_NULLABLE secret,
                                                                  size_t secret_len);

/* Adds a claim every access token must carry (any JSON value), by its exact member name (UTF-8, copied). A token
 * without it is refused with KB_ERR_TOKEN_CLAIMS, the reason naming the claim.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer or non-UTF-8 bytes; KB_ERR_INVALID_CONFIG
 * for an empty name. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_required_claim(kb_config *KB_NULLABLE cfg,
                                                                    const uint8_t *KB_NULLABLE name, size_t name_len);

/* Adds a `client_id` (RFC 9068 §2.2) whose tokens are accepted (UTF-8, copied). Once one is added, a token without
 * `client_id` or with one not added is refused with KB_ERR_TOKEN_CLAIMS. Without any, every client is accepted.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer or non-UTF-8 bytes. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_add_allowed_client_id(kb_config *KB_NULLABLE cfg,
                                                                       const uint8_t *KB_NULLABLE client_id,
                                                                       size_t client_id_len);

/* Gives one proof key, by its `jkt` (the RFC 7638 thumbprint, base64url; copied), its own share of the
 * in-process replay cache in place of KB_OPT_REPLAY_KEY_SHARE: 0..KB_OPT_REPLAY_CACHE_CAPACITY (checked by
 * kb_verifier_new), 0 = unlimited for that key; -1 removes the override. An external store has its own setting.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, an invalid buffer or non-UTF-8 bytes;
 * KB_ERR_INVALID_CONFIG for an empty jkt or a share below -1. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_replay_key_share(kb_config *KB_NULLABLE cfg,
                                                                      const uint8_t *KB_NULLABLE jkt, size_t jkt_len,
                                                                      int64_t share);

/* Results of kb_replay_store_vtable.insert (docs/design.md "Contracts → Replay store"). Any other value is
 * taken as KB_REPLAY_UNAVAILABLE: the verifier fails closed. */
enum {
    KB_REPLAY_INSERTED = 0,   /* the key was absent (or expired) and is now recorded */
    KB_REPLAY_REPLAYED = 1,   /* a live entry exists: the proof was used before (211) */
    KB_REPLAY_FULL = 2,       /* the store evicts nothing and is full (500) */
    KB_REPLAY_UNAVAILABLE = 3, /* the store did not answer in time (501) */
    KB_REPLAY_RESTARTED = 4,   /* the store lost its data after the proof was made (503; a fresh proof succeeds) */
    /* Appended. */
    KB_REPLAY_QUOTA = 5        /* the owner holds its share of live entries; nothing recorded (212, HTTP 429) */
};

/* An external replay store (for a store shared by many instances, e.g. Redis `SET key NX PXAT`).
 * Set struct_size to sizeof(kb_replay_store_vtable); fields are only ever appended.
 *
 * insert: records `key` (32 bytes, SHA-256 of the jkt and jti: the same on every instance) unless a
 *   live entry exists, atomically. An entry is live while now <= expires_at (Unix seconds, inclusive);
 *   the store may keep it longer, never shorter. Called only after every other check passed, from the
 *   verifying thread, possibly from many threads at once: it must be thread-safe, must not call back into
 *   the same verifier's kb_verifier_free, and must return one of KB_REPLAY_*. `key` is valid only during
 *   the call. Required.
 * destroy: called once with ctx when neither the config nor any verifier holds the store any more.
 *   May be NULL.
 * insert_owned (appended; read only when struct_size covers it, else treated as NULL): the same insert,
 *   also given the entry's owner, `owner` (32 bytes, SHA-256 of the ASCII jkt; valid only during the call),
 *   so the store can hold each proof key to its share and answer KB_REPLAY_QUOTA past it, recording
 *   nothing. A replay is KB_REPLAY_REPLAYED whatever the owner holds. When it answers KB_REPLAY_QUOTA it
 *   may write to *retry_after the seconds until the owner's oldest entry expires; left as it is (-1), the
 *   verifier answers with the proof window (max age + 2 × skew). When set, the verifier calls it instead
 *   of insert; a table built before it existed (the smaller struct_size) keeps working without owners. */
typedef struct kb_replay_store_vtable {
    uint32_t struct_size;
    int (*KB_NULLABLE insert)(void *KB_NULLABLE ctx, const uint8_t *KB_NULLABLE key, int64_t expires_at,
                              int64_t now);
    void (*KB_NULLABLE destroy)(void *KB_NULLABLE ctx);
    /* Appended. */
    int (*KB_NULLABLE insert_owned)(void *KB_NULLABLE ctx, const uint8_t *KB_NULLABLE key,
                                    const uint8_t *KB_NULLABLE owner, int64_t expires_at, int64_t now,
                                    int64_t *KB_NULLABLE retry_after);
} kb_replay_store_vtable;

/* Uses an external replay store instead of the in-process cache. The table is copied; `ctx` is kept and
 * passed to every call until destroy. Setting another store (or NULL, back to the in-process cache)
 * releases the previous one.
 * Ownership: on KB_OK the library owns ctx until it calls destroy; on failure, nothing is kept.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg, a struct_size smaller than the first version of
 * the table, or a NULL insert. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_replay_store(kb_config *KB_NULLABLE cfg,
                                                                  const kb_replay_store_vtable *KB_NULLABLE vtable,
                                                                  void *KB_NULLABLE ctx);

/* The key-miss hook: a token named a `kid` its issuer's key set lacks, so the host may fetch the JWKS
 * again (and install it with kb_verifier_replace_jwks; Keybound does no network I/O). Called at most once
 * per KB_OPT_KEY_MISS_INTERVAL_SECONDS per issuer, synchronously from the verifying thread (possibly from
 * many threads at once), before kb_verify returns KB_ERR_TOKEN_KID_UNKNOWN. The issuer and kid bytes are
 * valid only during the call; kid is NULL/0 when the token had none. It must not free the verifier. */
typedef void (*kb_key_miss_fn)(void *KB_NULLABLE ctx, const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                               const uint8_t *KB_NULLABLE kid, size_t kid_len);

/* Sets (or, with fn NULL, clears) the key-miss hook. `ctx` is kept, not owned: it must stay valid until
 * every verifier made while it was set is freed.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL cfg. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_key_miss_callback(kb_config *KB_NULLABLE cfg,
                                                                       kb_key_miss_fn KB_NULLABLE fn,
                                                                       void *KB_NULLABLE ctx);

/* ===== Verifier ===== */

/* A verifier: the trusted issuers, the policy, the caches, the replay store and the revocation list.
 * Thread-safety: a kb_verifier may be used from many threads at once (verify, replace keys, revoke,
 * mint nonces, read metrics), except kb_verifier_free, which must not race with any other use. */
typedef struct kb_verifier kb_verifier;

/* Chooses the crypto backend of the verifiers made from cfg (default: KB_BACKEND_DEFAULT). Both backends can run
 * side by side in one process when the library has both.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg or an unknown value; KB_ERR_INVALID_CONFIG for a backend
 * this library was built without (see kb_backend_available). */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_config_set_backend(kb_config *KB_NULLABLE cfg, kb_backend backend);

/* Makes a verifier from a configuration (which may then be freed or reused). Reads every issuer's JWKS
 * and checks every option.
 * On success *out receives the handle, to release with kb_verifier_free; on failure *out is set to NULL
 * (when out is not NULL) and the reason goes to errbuf.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL cfg or out; KB_ERR_INVALID_CONFIG for an option out
 * of range, nonces on without a secret, or a bad external base URL; KB_ERR_INVALID_JWKS for an issuer
 * whose JWKS is invalid; KB_ERR_INVALID_KEY_ENCODING, KB_ERR_PRIVATE_KEY_GIVEN or KB_ERR_UNUSABLE_KEY for a key of
 * kb_config_add_issuer_pem it refuses. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verifier_new(const kb_config *KB_NULLABLE cfg,
                                                       kb_verifier *KB_NULLABLE *KB_NULLABLE out,
                                                       char *KB_NULLABLE errbuf, size_t errbuf_len);

/* Releases a verifier and the callback contexts it holds (a replay store's destroy runs when no other
 * holder is left). NULL is a no-op. No call on the verifier may be running or start afterwards. */
KB_API void kb_verifier_free(kb_verifier *KB_NULLABLE verifier);

/* Returns the name of the backend a verifier runs on ("openssl" or "swift-crypto"), or "" for a NULL verifier.
 * Static; never NULL. Thread-safe. */
KB_API const char *KB_NONNULL kb_verifier_backend_name(const kb_verifier *KB_NULLABLE verifier);

/* Installs a new key set for a trusted issuer (JWKS rotation). Requests verifying at the same moment use
 * either the old or the new set, never neither. Both buffers are read during the call only.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL verifier, an invalid buffer or a non-UTF-8 issuer;
 * KB_ERR_INVALID_CONFIG for an issuer this verifier does not trust; KB_ERR_INVALID_JWKS for an invalid
 * document (the old set stays in force). The reason goes to errbuf. Thread-safe. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verifier_replace_jwks(kb_verifier *KB_NULLABLE verifier,
                                                                const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                                                                const uint8_t *KB_NULLABLE jwks_json, size_t jwks_len,
                                                                char *KB_NULLABLE errbuf, size_t errbuf_len);

/* Reports the entries of an issuer's current key set that were skipped because Keybound cannot verify with them
 * (RFC 7517 §5): encryption keys, an unsupported kty, crv or alg, an RSA modulus outside the configured bounds, a
 * key that fails validation. Writes into *count how many entries were skipped. When index < *count, writes that
 * entry's line (`key 2 (kid "enc-1"): use is not sig`) into text, NUL-terminated and truncated to fit (as errbuf);
 * when index >= *count, text gets "". The key set is the one kb_verifier_new or the last kb_verifier_replace_jwks
 * installed. Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL verifier or count, an invalid buffer or a non-UTF-8
 * issuer; KB_ERR_INVALID_CONFIG for an issuer this verifier does not trust. Thread-safe. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verifier_skipped_key(const kb_verifier *KB_NULLABLE verifier,
                                                               const uint8_t *KB_NULLABLE issuer, size_t issuer_len,
                                                               size_t index, size_t *KB_NULLABLE count,
                                                               char *KB_NULLABLE text, size_t text_len);

/* ===== Results ===== */

/* The outcome of one verification, owned by the caller and reused: make one per thread (or per
 * connection) with kb_result_new and pass it to every kb_verify*, so that a warm verification allocates
 * nothing. Every byte view read from it stays valid until the next kb_verify* into it, or its free.
 * Thread-safety: a kb_result may be used by one thread at a time. */
typedef struct kb_result kb_result;

/* Fields of a result, read with kb_result_field. Values are pinned. */
typedef int kb_field;

enum {
    /* On success. */
    KB_FIELD_SUB = 1,               /* the token's `sub` (RFC 9068 §2.2) */
    KB_FIELD_CLIENT_ID = 2,         /* the token's `client_id` */
    KB_FIELD_SCOPE = 3,             /* the token's `scope`, space-separated */
    KB_FIELD_JKT = 4,               /* the RFC 7638 thumbprint of the proof key (token endpoint: bind to it);
                                     * absent (NULL) for a Bearer request (KB_OPT_ALLOW_BEARER), never empty */
    KB_FIELD_TOKEN_JTI = 5,         /* the token's `jti` */
    KB_FIELD_PROOF_JTI = 6,         /* the proof's `jti`; absent for a Bearer request */
    KB_FIELD_ISSUER = 7,            /* the token's `iss` */
    /* On success and failure. */
    KB_FIELD_DPOP_NONCE = 8,        /* a fresh nonce for the `DPoP-Nonce` response header, when nonces are on */
    /* On failure. */
    KB_FIELD_ERROR_NAME = 9,        /* the status name, as kb_status_name */
    KB_FIELD_RFC_ERROR = 10,        /* the RFC error, as kb_status_rfc_error (absent when it has none) */
    KB_FIELD_ERROR_DESCRIPTION = 11,/* a short reason naming the failed check; never echoes request bytes */
    KB_FIELD_WWW_AUTHENTICATE = 12, /* the `WWW-Authenticate` value (RFC 9449 §7.1), resource modes only */
    KB_FIELD_ERROR_BODY = 13        /* the JSON error body (RFC 9449 §5), token-endpoint mode only */
};

/* Creates an empty result. On success *out receives the handle, to release with kb_result_free.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT when out is NULL. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_new(kb_result *KB_NULLABLE *KB_NULLABLE out);

/* Releases a result and the bytes it holds. NULL is a no-op. */
KB_API void kb_result_free(kb_result *KB_NULLABLE result);

/* Returns the status of the last kb_verify* into `result` (KB_ERR_INVALID_ARGUMENT for NULL or for a
 * result no verification has used yet). */
KB_API kb_status kb_result_status(const kb_result *KB_NULLABLE result);

/* Returns the HTTP status to answer with after the last kb_verify* into `result`: 200 on success; on
 * failure the status's HTTP status, or 400 in token-endpoint mode (RFC 9449 §5) except for 5xx
 * statuses and 429 (KB_ERR_REPLAY_QUOTA_EXCEEDED); 0 for NULL or an unused result. */
KB_API int kb_result_http_status(const kb_result *KB_NULLABLE result);

/* Reads a field (see kb_field) of the last verification: *out and *out_len receive a view of the bytes
 * (UTF-8, not NUL-terminated), owned by the result and valid until the next kb_verify* into it or its
 * free. An absent field gives *out == NULL and *out_len == 0; a present, empty one a non-NULL *out.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument or an unknown field. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_field(const kb_result *KB_NULLABLE result, kb_field field,
                                                       const uint8_t *KB_NULLABLE *KB_NULLABLE out,
                                                       size_t *KB_NULLABLE out_len);

/* Reads the `Retry-After` value (RFC 9110 §10.2.3, in seconds) to send with the HTTP 429 of
 * KB_ERR_REPLAY_QUOTA_EXCEEDED: when the proof key's oldest replay entry expires if the store said so, else the
 * proof window (max age + 2 × skew). *seconds receives it after a 212, else 0.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_retry_after(const kb_result *KB_NULLABLE result,
                                                             int64_t *KB_NULLABLE seconds);

/* Reads the token's `exp` (Unix seconds; NumericDates may be fractional). *present receives 1 and *exp the
 * value after a successful verification of a JWT access token, else *present receives 0 and *exp 0.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_exp(const kb_result *KB_NULLABLE result, int *KB_NULLABLE present,
                                                     double *KB_NULLABLE exp);

/* Reads any claim of the verified access token as raw JSON text (`"alice"`, `42`, `["a","b"]`), found by
 * its exact member name (after unescaping). *out and *out_len receive a view owned by the result, valid
 * until the next kb_result_claim or kb_verify* on it, or its free; NULL/0 when the claim is absent, the
 * last verification failed, or the token is opaque. `name` is read during the call only.
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument or an invalid buffer. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_claim(kb_result *KB_NULLABLE result, const uint8_t *KB_NULLABLE name,
                                                       size_t name_len, const uint8_t *KB_NULLABLE *KB_NULLABLE out,
                                                       size_t *KB_NULLABLE out_len);

/* Reads the string claim `name` of the verified access token, unescaped (`"caf\u00e9"` gives the UTF-8 of "café"),
 * found by its exact member name (after unescaping): *present receives 1 and the bytes go to out (out_cap bytes; not
 * NUL-terminated), their length to *out_len. When the claim is absent, the last verification failed, or the token
 * is opaque, *present receives 0 and *out_len 0 (no status of its own: a missing claim is not a misuse of the API).
 * `name` is read during the call only; out may be NULL when out_cap is 0.
 * Returns KB_OK; KB_ERR_TOKEN_CLAIMS when the claim is present with another JSON type (*present 1, *out_len 0);
 * KB_ERR_BUFFER_TOO_SMALL when out_cap is too small (*present 1, *out_len receives the length needed, nothing is
 * written to out); KB_ERR_INVALID_ARGUMENT for a NULL result, present or out_len, or an invalid buffer. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_claim_string(const kb_result *KB_NULLABLE result,
                                                              const uint8_t *KB_NULLABLE name, size_t name_len,
                                                              int *KB_NULLABLE present, uint8_t *KB_NULLABLE out,
                                                              size_t out_cap, size_t *KB_NULLABLE out_len);

/* Reads the integer claim `name` of the verified access token: a JSON number with no fractional part within
 * +-2^53 (where doubles are exact). *present receives 1 and *value the number; when the claim is absent, the last
 * verification failed, or the token is opaque, *present receives 0 and *value 0.
 * Returns KB_OK; KB_ERR_TOKEN_CLAIMS when the claim is present with another JSON type, a fraction or a number beyond
 * +-2^53 (*present 1, *value 0); KB_ERR_INVALID_ARGUMENT for a NULL argument or an invalid buffer. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_result_claim_int64(const kb_result *KB_NULLABLE result,
                                                             const uint8_t *KB_NULLABLE name, size_t name_len,
                                                             int *KB_NULLABLE present, int64_t *KB_NULLABLE value);

/* ===== Verifying ===== */

/* Verifies a resource request (RFC 9449 §7): `Authorization: DPoP <JWT access token>` plus one DPoP proof,
 * with the checks of docs/design.md "The checks" in their order; the proof is recorded in the replay store last.
 *
 * method, url: the request method (case-sensitive) and URL: absolute, or the origin-form path
 *   ("/path?query") when KB_OPT_EXTERNAL_BASE_URL is set.
 * authorization: the `Authorization` value; NULL/0 means the header is absent.
 * dpop, dpop_lens, dpop_count: every `DPoP` header value as received, in order (dpop_count 0 when absent;
 *   both arrays may then be NULL). A NULL entry with length 0 is a present, empty value.
 * now: the current time, Unix seconds; or KB_NOW_CLOCK, with KB_OPT_READ_CLOCK, to have the library read the
 *   system clock (without that option Keybound never reads the clock).
 * result: receives the outcome (see kb_result), also on failure.
 * Nothing passed in is kept after the call.
 *
 * Returns KB_OK, a verification status (1xx-5xx: the request is refused; answer with the result's
 * http_status, WWW_AUTHENTICATE and DPOP_NONCE fields), or KB_ERR_INVALID_ARGUMENT for a NULL verifier or
 * result or an invalid buffer. Thread-safe on the verifier; `result` must not be used by another thread
 * during the call. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verify(kb_verifier *KB_NULLABLE verifier,
                                                 const uint8_t *KB_NULLABLE method, size_t method_len,
                                                 const uint8_t *KB_NULLABLE url, size_t url_len,
                                                 const uint8_t *KB_NULLABLE authorization, size_t authorization_len,
                                                 const uint8_t *KB_NULLABLE const *KB_NULLABLE dpop,
                                                 const size_t *KB_NULLABLE dpop_lens, size_t dpop_count,
                                                 int64_t now, kb_result *KB_NULLABLE result);

/* Verifies a token-endpoint request (RFC 9449 §5): a DPoP proof alone, as at login or refresh. On success
 * the result's KB_FIELD_JKT is the thumbprint to bind the new token to (`cnf.jkt`). On failure the result
 * carries KB_FIELD_ERROR_BODY (the JSON body to answer with) and an http_status of 400 (5xx for server
 * failures). Arguments, statuses and thread-safety as kb_verify. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verify_token_endpoint(kb_verifier *KB_NULLABLE verifier,
                                                                const uint8_t *KB_NULLABLE method, size_t method_len,
                                                                const uint8_t *KB_NULLABLE url, size_t url_len,
                                                                const uint8_t *KB_NULLABLE const *KB_NULLABLE dpop,
                                                                const size_t *KB_NULLABLE dpop_lens, size_t dpop_count,
                                                                int64_t now, kb_result *KB_NULLABLE result);

/* Verifies a resource request whose access token is opaque and was introspected by the host: the host
 * passes the `jkt` the token is bound to (bound_jkt, its `cnf.jkt`), and Keybound checks the proof, `ath`
 * against the presented token, the binding (KB_ERR_TOKEN_BINDING) and key revocation. Token claims are
 * absent from the result. Arguments, statuses and thread-safety as kb_verify; bound_jkt must be UTF-8. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verify_opaque(kb_verifier *KB_NULLABLE verifier,
                                                        const uint8_t *KB_NULLABLE method, size_t method_len,
                                                        const uint8_t *KB_NULLABLE url, size_t url_len,
                                                        const uint8_t *KB_NULLABLE authorization, size_t authorization_len,
                                                        const uint8_t *KB_NULLABLE const *KB_NULLABLE dpop,
                                                        const size_t *KB_NULLABLE dpop_lens, size_t dpop_count,
                                                        const uint8_t *KB_NULLABLE bound_jkt, size_t bound_jkt_len,
                                                        int64_t now, kb_result *KB_NULLABLE result);

/* What one request needs from its JWT access token, beyond a valid, bound token (docs/design.md "The checks",
 * check 7): an argument of each call, so one verifier serves every route. Set struct_size (KB_REQUIREMENTS_INIT
 * does); fields are only ever appended; a zeroed struct (with its struct_size) requires nothing.
 *
 * scope, scope_len: space-separated scopes the token's `scope` must all hold (RFC 6750 §3.1); NULL/0 for none.
 *   Failure: KB_ERR_INSUFFICIENT_SCOPE (HTTP 403), the challenge carrying scope="...".
 * flags: KB_REQUIRE_MAX_AGE makes max_age a requirement.
 * max_age: with KB_REQUIRE_MAX_AGE, the most seconds since the user authenticated: now - auth_time <= max_age +
 *   skew (RFC 9470). A token without `auth_time` fails unless KB_OPT_AUTH_TIME_FROM_IAT.
 * acr_values, acr_values_len: space-separated acceptable `acr` values, any one of them; NULL/0 for none.
 *   Failure of either: KB_ERR_INSUFFICIENT_USER_AUTHENTICATION (HTTP 401), the challenge carrying
 *   acr_values="..." and max_age="..." (RFC 9470 §3). Checked before the scope.
 * Every buffer is read during the call only and must be UTF-8. */
typedef struct kb_requirements {
    uint32_t struct_size;
    uint32_t flags;
    const uint8_t *KB_NULLABLE scope;
    size_t scope_len;
    int64_t max_age;
    const uint8_t *KB_NULLABLE acr_values;
    size_t acr_values_len;
} kb_requirements;

#define KB_REQUIRE_MAX_AGE 1u
#define KB_REQUIREMENTS_INIT { (uint32_t)sizeof(kb_requirements), 0, NULL, 0, 0, NULL, 0 }

/* kb_verify with the request's requirements (NULL: none, exactly kb_verify). Returns what kb_verify returns, plus
 * KB_ERR_INSUFFICIENT_USER_AUTHENTICATION and KB_ERR_INSUFFICIENT_SCOPE (never for a request that fails an earlier
 * check, and before the proof is recorded in the replay store); KB_ERR_INVALID_ARGUMENT also for a struct_size
 * smaller than the first layout (56 bytes on 64-bit), a negative max_age, unknown flags or non-UTF-8 buffers.
 * Thread-safe on the verifier, as kb_verify. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verify_with_requirements(
    kb_verifier *KB_NULLABLE verifier, const uint8_t *KB_NULLABLE method, size_t method_len,
    const uint8_t *KB_NULLABLE url, size_t url_len, const uint8_t *KB_NULLABLE authorization, size_t authorization_len,
    const uint8_t *KB_NULLABLE const *KB_NULLABLE dpop, const size_t *KB_NULLABLE dpop_lens, size_t dpop_count,
    const kb_requirements *KB_NULLABLE requirements, int64_t now, kb_result *KB_NULLABLE result);

/* ===== Nonces and revocation ===== */

/* Writes a fresh nonce for the `DPoP-Nonce` response header (RFC 9449 §8) into out (out_cap bytes; not
 * NUL-terminated) and its length (KB_NONCE_LENGTH) into *out_len. `jkt` (the client key's thumbprint) is
 * used only with KB_NONCE_REQUIRED_BOUND; NULL/0 otherwise.
 * Returns KB_OK; KB_ERR_BUFFER_TOO_SMALL when out_cap is too small (*out_len receives the length needed,
 * nothing is written to out); KB_ERR_INVALID_CONFIG when nonces are off; KB_ERR_INVALID_ARGUMENT for a NULL
 * verifier or out_len, or an invalid buffer. Thread-safe. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_mint_nonce(kb_verifier *KB_NULLABLE verifier, int64_t now,
                                                     const uint8_t *KB_NULLABLE jkt, size_t jkt_len,
                                                     uint8_t *KB_NULLABLE out, size_t out_cap,
                                                     size_t *KB_NULLABLE out_len);

/* Revokes an access token by its `jti` (exact bytes, UTF-8) until `until` (Unix seconds, usually the
 * token's `exp`): later verifications of it return KB_ERR_TOKEN_REVOKED. Expired entries are dropped when
 * room is needed.
 * Returns KB_OK; KB_ERR_INVALID_ARGUMENT for a NULL verifier, an invalid buffer or non-UTF-8 bytes;
 * KB_ERR_INVALID_CONFIG when KB_OPT_MAX_REVOCATIONS live entries are held. Thread-safe. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_revoke_token_jti(kb_verifier *KB_NULLABLE verifier,
                                                           const uint8_t *KB_NULLABLE jti, size_t jti_len,
                                                           int64_t until, int64_t now);

/* Revokes a client key by its `jkt` until `until` ("log out this device"): every request proved with it
 * returns KB_ERR_KEY_REVOKED. Statuses and thread-safety as kb_revoke_token_jti. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_revoke_jkt(kb_verifier *KB_NULLABLE verifier,
                                                     const uint8_t *KB_NULLABLE jkt, size_t jkt_len,
                                                     int64_t until, int64_t now);

/* ===== Metrics ===== */

/* A snapshot of a verifier's counters since it was made. Set struct_size (KB_METRICS_INIT does);
 * fields are only ever appended. */
typedef struct kb_metrics {
    uint32_t struct_size;
    uint32_t reserved;                /* zero */
    uint64_t verified;                /* requests verified */
    uint64_t refused;                 /* requests refused, all statuses */
    uint64_t replay_cache_count;      /* live or unreclaimed in-process replay entries; UINT64_MAX when external */
    uint64_t replay_cache_capacity;   /* the in-process replay cache's capacity; UINT64_MAX when external */
    uint64_t proof_key_cache_hits;
    uint64_t proof_key_cache_misses;
    uint64_t token_cache_hits;
    uint64_t token_cache_misses;
} kb_metrics;

#define KB_METRICS_INIT { (uint32_t)sizeof(kb_metrics), 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* Fills *out with the verifier's counters: the fields this library knows, up to out->struct_size bytes
 * (a caller built against a newer header keeps its newer fields untouched).
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument or a struct_size smaller than this first
 * layout (72 bytes). Thread-safe (the counters are read one by one, not as one snapshot). */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verifier_metrics(const kb_verifier *KB_NULLABLE verifier,
                                                           kb_metrics *KB_NULLABLE out);

/* Writes into *out how many requests the verifier refused with `status` (a verification status, 1xx-5xx).
 * Returns KB_OK, or KB_ERR_INVALID_ARGUMENT for a NULL argument or a status that is not a verification
 * status. Thread-safe. */
KB_API KB_WARN_UNUSED_RESULT kb_status kb_verifier_refusals(const kb_verifier *KB_NULLABLE verifier, kb_status status,
                                                            uint64_t *KB_NULLABLE out);


#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* KEYBOUND_H */
