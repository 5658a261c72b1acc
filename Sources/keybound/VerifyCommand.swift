//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Keybound
@_spi(Batch) import KeyboundBatch

/// `keybound verify`: one request from flags, or a JSON Lines batch, through one `Verifier`.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify DPoP requests with the same verifier as the library.",
        discussion: """
            One request from flags, or many with --batch (JSON Lines, one request per line: \
            {"method": ..., "url": ..., "authorization": ..., "dpop": ..., "jkt": ...}). \
            Prints one JSON line per request. Exit status: 0 all verified, 1 any refused, 2 usage or \
            configuration error. Nonce secrets come from --nonce-secret-file or KEYBOUND_NONCE_SECRETS, \
            never from the command line. Issuer keys come from a JWKS (--jwks), or as PEM public keys or \
            X.509 certificates (--issuer-key FILE --kid KID; of a certificate only its key is used, nothing \
            of it is verified), or from the network (--issuer-url or --jwks-url: fetched once, at start, by the \
            helper keybound-remote of the Integrations package, found through KEYBOUND_REMOTE, beside keybound \
            or on PATH).

            Examples:
              keybound verify --jwks jwks.json --issuer https://issuer.example \\
                --audience https://api.example --method GET \\
                --url https://api.example/orders \\
                --authorization "DPoP $TOKEN" --dpop "$PROOF"
              keybound verify --issuer-key issuer.pem --kid issuer-1 \\
                --issuer https://issuer.example --audience https://api.example \\
                --now 1760000000 --batch requests.jsonl
              keybound verify --issuer-url https://issuer.example \\
                --audience https://api.example --batch requests.jsonl
            """
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case resource
        case tokenEndpoint = "token-endpoint"
        case opaque
    }

    // MARK: Trust

    @Option(
        help: ArgumentHelp(
            "The issuer's JWKS document (this, --issuer-key, --issuer-url or --jwks-url is required except in "
                + "token-endpoint mode).",
            valueName: "path"))
    var jwks: String?

    @Option(
        name: .customLong("issuer-key"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "An issuer key as PEM: a public key or an X.509 certificate, whose key alone is used (nothing of the certificate is verified). Repeatable, each with its --kid; beside or instead of --jwks.",
            valueName: "path"))
    var issuerKey: [String] = []

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp("The kid of each --issuer-key, in the same order.", valueName: "kid"))
    var kid: [String] = []

    /// --issuer-url, --jwks-url and the fetch options (the keybound-remote helper).
    @OptionGroup var remote: RemoteKeysOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The trusted issuer (exact iss; required except in token-endpoint mode; default: --issuer-url).",
            valueName: "iss"))
    var issuer: String?

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "An accepted audience (repeatable; at least one except in token-endpoint mode).", valueName: "aud"))
    var audience: [String] = []

    // MARK: Policy

    @Option(
        help: ArgumentHelp(
            "Comma-separated algorithm allow-list for proofs and tokens (default: all eleven).", valueName: "list"))
    var algs: String?

    @Option(name: .customLong("max-age"), help: ArgumentHelp("Proof max age (default 60).", valueName: "seconds"))
    var maxAge: Int64?

    @Option(help: ArgumentHelp("Allowed clock skew (default 5).", valueName: "seconds"))
    var skew: Int64?

    @Option(
        help: ArgumentHelp(
            "A fixed clock for every request (default: the real clock, read per request).", valueName: "unix-seconds"))
    var now: Int64?

    @Flag(name: .customLong("strict-token-type"), help: "Accept only typ at+jwt or application/at+jwt on tokens.")
    var strictTokenType = false

    @Option(
        name: .customLong("base-url"),
        help: ArgumentHelp(
            "External base URL (servers behind proxies): request URLs are then origin-form paths.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("The verification mode.", valueName: "mode"))
    var mode: Mode = .resource

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The jkt an opaque token is bound to (opaque mode; a batch line's \"jkt\" overrides it).", valueName: "jkt")
    )
    var jkt: String?

    @Option(
        name: .customLong("revoke-token-jti"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Refuse tokens with this jti (repeatable).", valueName: "id"))
    var revokeTokenJTI: [String] = []

    @Option(
        name: .customLong("revoke-jkt"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Refuse tokens bound to this key (repeatable).", valueName: "jkt"))
    var revokeJKT: [String] = []

    @Option(
        name: .customLong("replay-capacity"),
        help: ArgumentHelp("Replay cache entries (default 1048576).", valueName: "n"))
    var replayCapacity: Int?

    @Option(
        name: .customLong("replay-key-share"),
        help: ArgumentHelp(
            "The most live replay entries one proof key may hold; past it, 212 replay_quota_exceeded (default: "
                + "capacity / 8 in process, off with --replay-store; 0 turns it off).",
            valueName: "n"))
    var replayKeyShare: Int?

    @Option(
        name: .customLong("replay-key-share-for"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("A share for one proof key, in place of --replay-key-share (repeatable).",
                           valueName: "jkt=n"))
    var replayKeyShareFor: [String] = []

    @Option(
        name: .customLong("replay-store"),
        help: ArgumentHelp(
            "A replay store shared by many instances: redis://[:password@]HOST:PORT/DB or unix://PATH (Redis builds).",
            valueName: "url"))
    var replayStore: String?

    @Option(
        name: .customLong("require-claim"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("A claim every token must carry (repeatable; 310 when absent).", valueName: "name"))
    var requireClaim: [String] = []

    @Option(
        name: .customLong("allow-client-id"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Accept only tokens of this client_id (repeatable; 310 otherwise).", valueName: "id"))
    var allowClientID: [String] = []

    @Flag(
        name: .customLong("auth-time-from-iat"),
        help: "Let a token's iat stand in for a missing auth_time under --require-max-auth-age (weaker).")
    var authTimeFromIAT = false

    @Flag(
        name: .customLong("allow-bearer"),
        help: "Bearer migration mode (RFC 9449 §7.2): also accept Authorization: Bearer for tokens without cnf.")
    var allowBearer = false

    @Option(
        name: .customLong("claim"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Add this token claim to the output's \"claims\" object, strings unescaped (repeatable).",
                           valueName: "name"))
    var claim: [String] = []

    // MARK: Per-request requirements (every request of the run)

    @Option(
        name: .customLong("require-scope"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("A scope each request's token must hold (repeatable; 315 otherwise).", valueName: "scope"))
    var requireScope: [String] = []

    @Option(
        name: .customLong("require-max-auth-age"),
        help: ArgumentHelp("RFC 9470 max_age: the token's auth_time at most this old (314 otherwise).",
                           valueName: "seconds"))
    var requireMaxAuthAge: Int64?

    @Option(
        name: .customLong("require-acr"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("An acceptable acr value (repeatable; 314 when the token's is none of them).",
                           valueName: "acr"))
    var requireACR: [String] = []

    // MARK: Nonces

    @Flag(
        name: .customLong("require-nonce"),
        help: "Require DPoP nonces (RFC 9449 §8); secrets from --nonce-secret-file or KEYBOUND_NONCE_SECRETS.")
    var requireNonce = false

    @Flag(name: .customLong("nonce-bound-to-key"), help: "Bind nonces to the proof key's jkt.")
    var nonceBoundToKey = false

    @OptionGroup var nonceOptions: NonceOptions

    // MARK: One request

    @Option(parsing: .unconditional, help: ArgumentHelp("The request method.", valueName: "method"))
    var method: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The request URL (absolute, or origin-form with --base-url).", valueName: "url"))
    var url: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The Authorization header value (absent when not given).", valueName: "value"))
    var authorization: String?

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp("One DPoP header value (repeatable; none means the header is absent).", valueName: "value"))
    var dpop: [String] = []

    // MARK: Many requests

    @Option(help: ArgumentHelp("JSON Lines file of requests, or - for standard input.", valueName: "path"))
    var batch: String?

    func validate() throws {
        if batch != nil {
            guard method == nil, url == nil, authorization == nil, dpop.isEmpty else {
                throw ValidationError("--batch cannot be combined with --method, --url, --authorization or --dpop")
            }
        } else {
            guard method != nil, url != nil else {
                throw ValidationError("give --method and --url for one request, or --batch PATH")
            }
            if mode == .opaque && jkt == nil { throw ValidationError("opaque mode needs --jkt") }
        }
        guard kid.count == issuerKey.count else { throw ValidationError("give one --kid per --issuer-key") }
        do {
            try remote.validate(localKeys: jwks != nil || !issuerKey.isEmpty, issuer: issuer)
        } catch {
            throw ValidationError(error.message)
        }
        if mode != .tokenEndpoint {
            guard jwks != nil || !issuerKey.isEmpty || remote.given != nil, trustedIssuer != nil, !audience.isEmpty
            else {
                throw ValidationError(
                    "--jwks (or --issuer-key, --issuer-url, --jwks-url), --issuer and --audience are required in "
                        + "\(mode.rawValue) mode")
            }
        }
        if let requireMaxAuthAge, requireMaxAuthAge < 0 {
            throw ValidationError("--require-max-auth-age must not be negative")
        }
        if mode != .resource && !requirements.isEmpty {
            throw ValidationError("--require-scope, --require-max-auth-age and --require-acr need resource mode")
        }
        if nonceBoundToKey && !requireNonce { throw ValidationError("--nonce-bound-to-key needs --require-nonce") }
        if nonceOptions.secretFile != nil && !requireNonce {
            throw ValidationError("--nonce-secret-file needs --require-nonce")
        }
    }

    func run() throws {
        let verifier = try makeVerifier()
        let answers = Answers(
            verifier: verifier, out: OutputWriter(), algs: challengeAlgorithms(), mode: mode, jkt: jkt,
            requirements: requirements, now: now, noncesOn: requireNonce, claims: claim)
        let refused: Bool
        if let batch {
            let standardInput = batch == "-"
            let fd: Int32 = standardInput ? 0 : try Inputs.openForReading(batch, what: "batch")
            defer { if !standardInput { close(fd) } }
            refused = try Self.runBatch(fd: fd, answers: answers)
        } else {
            let request = DPoPRequest(method: method ?? "", url: url ?? "", authorization: authorization, dpop: dpop)
            refused = !answers.answer(lineJKT: nil) { (mode) throws(KeyboundError) in
                try verifier.verify(request, mode: mode, requirements: answers.requirements, now: answers.now)
            }
        }
        answers.out.flush()
        if refused { throw ExitCode(1) }
    }

    /// The batch: one answer line per request line, written out after each read's lines are answered (docs/cli.md).
    /// Returns whether any line was refused. Kept out of line: the instruction gate (scripts/ci/callgrind.sh,
    /// `batch-line`) counts this function's instructions minus the verifier's.
    @inline(never)
    private static func runBatch(fd: Int32, answers: Answers) throws(ToolError) -> Bool {
        var refused = false
        do throws(BatchError) {
            try LineReader(fd: fd).forEachLine(borrowing: { line in
                switch line {
                case .tooLong:
                    answers.invalid("line is longer than \(LineReader.defaultLimit) bytes")
                    refused = true
                case .text(let bytes):
                    BatchRequestBytes.read(bytes) { parsed in
                        switch parsed {
                        case .failure(let error):
                            answers.invalid(error.message)
                            refused = true
                        case .success(let line):
                            let ok = answers.answer(lineJKT: line.jkt) { (mode) throws(KeyboundError) in
                                try answers.verifier.verify(
                                    method: line.method, url: line.url, authorization: line.authorization,
                                    dpopCount: line.dpopCount, firstProof: line.firstProof, mode: mode,
                                    requirements: answers.requirements, now: answers.now)
                            }
                            if !ok { refused = true }
                        }
                    }
                }
            }, afterChunk: { answers.out.flush() })
        } catch {
            throw ToolError(error.message)
        }
        return refused
    }

    /// What every answer of a run needs, read once from the options (a class: the batch's closures share one).
    final class Answers {
        let verifier: Verifier
        let out: OutputWriter
        /// The algorithms a challenge lists (the proof allow-list).
        let algs: [String]
        let mode: Mode
        /// `--jkt`.
        let jkt: String?
        let requirements: Requirements
        let now: Int64?
        let noncesOn: Bool
        /// `--claim`.
        let claims: [String]

        init(
            verifier: Verifier, out: OutputWriter, algs: [String], mode: Mode, jkt: String?, requirements: Requirements,
            now: Int64?, noncesOn: Bool, claims: [String]
        ) {
            self.verifier = verifier
            self.out = out
            self.algs = algs
            self.mode = mode
            self.jkt = jkt
            self.requirements = requirements
            self.now = now
            self.noncesOn = noncesOn
            self.claims = claims
        }

        /// The error line of an input line that is not a request. `reason` is the tool's own text, never input.
        func invalid(_ reason: String) {
            out.writeLine(Verdict.invalidLine(reason, algs: algs, tokenEndpoint: mode == .tokenEndpoint))
        }

        /// Verifies one request with `verify` and writes its answer line: whether it verified.
        func answer(lineJKT: UnsafeRawBufferPointer?, _ verify: (VerificationMode) throws(KeyboundError) -> VerifiedRequest)
            -> Bool
        {
            let verificationMode: VerificationMode
            switch mode {
            case .resource: verificationMode = .resource
            case .tokenEndpoint: verificationMode = .tokenEndpoint
            case .opaque:
                guard let bound = lineJKT.map({ String(decoding: $0, as: UTF8.self) }) ?? jkt else {
                    invalid("opaque mode needs a jkt")
                    return false
                }
                verificationMode = .opaqueToken(boundJKT: bound)
            }
            do {
                // Without --now the verifier reads its clock (the system's) once per request.
                let verified = try verify(verificationMode)
                Verdict.success(verified, noncesOn: noncesOn, claims: claims, to: out)
                out.endLine()
                return true
            } catch {
                out.writeLine(Verdict.refusal(error, verifier: verifier, tokenEndpoint: mode == .tokenEndpoint))
                return false
            }
        }
    }

    /// The issuer the keys are trusted for: `--issuer`, else `--issuer-url`.
    private var trustedIssuer: String? { issuer ?? remote.issuerURL }

    /// What every request of this run must satisfy (--require-scope, --require-max-auth-age, --require-acr).
    private var requirements: Requirements {
        Requirements(scopes: requireScope, maxAge: requireMaxAuthAge, acrValues: requireACR)
    }

    /// The algorithms a challenge lists (the proof allow-list).
    private func challengeAlgorithms() -> [String] {
        ((try? algs.map { (list) throws(ToolError) in try Inputs.algorithms(list) }) ?? nil)?.map(\.rawValue)
            ?? JWSAlgorithm.allSupported.map(\.rawValue)
    }

    // MARK: - Configuration

    /// `jkt=n` items of `--replay-key-share-for`.
    static func shareOverrides(_ items: [String]) throws(ToolError) -> [String: Int] {
        var overrides: [String: Int] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let share = Int(parts[1]), share >= 0 else {
                throw ToolError("invalid --replay-key-share-for \(item): use JKT=N with N >= 0")
            }
            overrides[String(parts[0])] = share
        }
        return overrides
    }

    private func makeVerifier() throws(ToolError) -> Verifier {
        var policy = VerifierPolicy()
        if let algs {
            let list = try Inputs.algorithms(algs)
            policy.proofAlgorithms = list
            policy.tokenAlgorithms = list
        }
        if let maxAge { policy.proofMaxAgeSeconds = maxAge }
        if let skew { policy.clockSkewSeconds = skew }
        policy.strictTokenType = strictTokenType
        policy.requiredClaims = requireClaim
        policy.allowedClientIDs = allowClientID.isEmpty ? nil : allowClientID
        policy.authTimeFromIAT = authTimeFromIAT
        policy.allowBearer = allowBearer
        policy.externalBaseURL = baseURL
        if let replayCapacity {
            policy.replayCacheCapacity = replayCapacity
        } else if batch == nil {
            policy.replayCacheCapacity = 1024  // one request: no need for a large cache
        }
        if let replayKeyShare { policy.replayKeyShare = replayKeyShare }
        policy.replayKeyShareOverrides = try Self.shareOverrides(replayKeyShareFor)
        if requireNonce { policy.nonces = try nonceOptions.issuer(boundToKey: nonceBoundToKey) }

        var issuers: [TrustedIssuer] = []
        if let issuer = trustedIssuer {
            var sets: [JWKSet] = []
            // A JWKS file, or the set the helper fetched (docs/remote-keys.md): one reader for both.
            let document: (name: String, bytes: [UInt8])?
            if let jwks {
                document = (jwks, try Inputs.read(path: jwks, what: "JWKS"))
            } else if let source = remote.source {
                document = (source, try remote.fetch())
            } else {
                document = nil
            }
            if let (name, bytes) = document {
                let keys: JWKSet
                do {
                    keys = try JWKSet(json: bytes, rsaModulusBits: policy.rsaModulusBits)
                } catch {
                    throw ToolError("invalid JWKS \(name): \(error.reason)")
                }
                // RFC 7517 §5: entries Keybound cannot verify with are skipped; say which, once each, on stderr.
                for skipped in keys.skippedKeys { Console.warning("JWKS \(name): skipped \(skipped)") }
                sets.append(keys)
            }
            for (path, id) in zip(issuerKey, kid) {
                let pem = try Inputs.read(path: path, what: "issuer key")
                do {
                    sets.append(try JWKSet(pem: pem, kid: id, rsaModulusBits: policy.rsaModulusBits))
                } catch {
                    throw ToolError("invalid issuer key \(path) (\(error.code.name)): \(error.reason)")
                }
            }
            if !sets.isEmpty {
                let keys: JWKSet
                do {
                    keys = sets.count == 1 ? sets[0] : try JWKSet(merging: sets)
                } catch {
                    throw ToolError("invalid issuer keys: \(error.reason)")
                }
                issuers.append(TrustedIssuer(identifier: issuer, audiences: audience, keys: keys))
            }
        }
        let shared = try ReplayStoreOption.store(
            url: replayStore, keyShare: replayKeyShare, overrides: policy.replayKeyShareOverrides)
        let verifier: Verifier
        do {
            verifier = try Verifier(issuers: issuers, policy: policy, replayStore: shared)
        } catch {
            throw ToolError("invalid configuration: \(error.reason)")
        }
        do {
            for id in revokeTokenJTI { try verifier.revokeToken(jti: id, until: .max, now: now) }
            for key in revokeJKT { try verifier.revokeKey(jkt: key, until: .max, now: now) }
        } catch {
            throw ToolError("invalid revocation: \(error.reason)")
        }
        return verifier
    }
}
