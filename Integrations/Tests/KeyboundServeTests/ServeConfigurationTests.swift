//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
import IntegrationsTestSupport
import Keybound
@testable import KeyboundServe
import Testing

/// A scratch folder with a JWK Set and a nonce secret, for configurations that name files.
struct ConfigFolder {
    let path: String

    init(fixture: Fixture) throws {
        path = NSTemporaryDirectory() + "keybound-serve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Fixture.jwks([fixture.issuerKey]).write(toFile: path + "/jwks.json", atomically: true, encoding: .utf8)
        try (String(repeating: "s", count: 40) + "\n").write(toFile: path + "/secret", atomically: true, encoding: .utf8)
        try "short".write(toFile: path + "/short", atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// `rest` after one issuer whose keys are `fixture`'s, parsed in a folder that holds its `jwks.json`.
    static func configuration(fixture: Fixture, _ rest: String) throws -> ServeConfiguration {
        let folder = try ConfigFolder(fixture: fixture)
        defer { folder.remove() }
        return try ServeConfiguration.parse(
            """
            issuers = [{ issuer = "\(Fixture.issuer)", audiences = ["\(Fixture.audience)"], jwks_file = "jwks.json" }]
            """ + "\n" + rest, directory: folder.path)
    }
}

let validConfiguration = """
    listen = "127.0.0.1:9180"

    [[issuers]]
    issuer = "https://issuer.example"
    audiences = ["https://api.example"]
    jwks_file = "jwks.json"

    [[issuers]]
    issuer = "https://remote.example"
    audiences = ["https://api.example"]
    discovery = "openid"

    [[routes]]
    prefix = "/"

    [[routes]]
    prefix = "/orders"
    scopes = ["orders:read"]
    max_age = 300
    acr = ["urn:mfa"]

    [[proxies]]
    style = "nginx"
    addresses = ["127.0.0.1", "::ffff:10.0.0.1"]
    origin = "https://api.example"

    [[proxies]]
    style = "traefik"
    addresses = ["10.0.0.2"]
    external_base_url = "https://api.example/app"
    strip_prefix = "/app"

    [identity_headers]
    subject = "X-User"
    client_id = ""
    claims = { email = "X-Email" }

    [nonces]
    secret_files = ["secret"]
    secret_env = ["NONCE_SECRET"]
    window_seconds = 120

    [replay]
    store = "memory"
    capacity = 4096
    """

@Suite("keybound-serve configuration")
struct ServeConfigurationTests {
    let fixture: Fixture
    let folder: ConfigFolder

    init() throws {
        fixture = try Fixture()
        folder = try ConfigFolder(fixture: fixture)
    }

    func parse(_ text: String, environment: [String: String] = ["NONCE_SECRET": String(repeating: "e", count: 32)])
        throws(ServeConfigurationError) -> ServeConfiguration
    {
        try ServeConfiguration.parse(text, directory: folder.path, environment: environment)
    }

    /// The error of `text`, or `nil` when it parses.
    func problem(_ text: String, environment: [String: String] = [:]) -> String? {
        do {
            _ = try parse(text, environment: environment)
            return nil
        } catch {
            return error.description
        }
    }

    /// Each text's error starts with its expected message (the nonce secret's variable is set).
    func expectProblems(_ cases: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation) {
        for (text, expected) in cases {
            let message = problem(text, environment: ["NONCE_SECRET": String(repeating: "e", count: 32)])
            #expect(
                message?.hasPrefix(expected) == true, "expected \(expected), got \(message ?? "no error")",
                sourceLocation: sourceLocation)
        }
    }

    func replacing(_ old: String, with new: String) -> String {
        validConfiguration.replacingOccurrences(of: old, with: new)
    }

    @Test func readsEverySection() throws {
        defer { folder.remove() }
        let config = try parse(validConfiguration)
        #expect(config.listenHost == "127.0.0.1" && config.listenPort == 9180)
        #expect(config.issuers.count == 2)
        #expect(config.issuers[0].localKeys != nil && config.issuers[0].remote == nil)
        #expect(config.issuers[1].source == .discovery(.openIDConnectDiscovery) && config.issuers[1].remote != nil)
        #expect(config.routes[1].requirements == Requirements(scopes: ["orders:read"], maxAge: 300, acrValues: ["urn:mfa"]))
        #expect(config.proxies[0].addresses == ["127.0.0.1", "10.0.0.1"])
        #expect(config.proxies[0].url == .origin("https://api.example"))
        #expect(config.proxies[1].url == .externalBase(base: "https://api.example/app", stripPrefix: "/app"))
        #expect(config.identity.subject == "X-User" && config.identity.clientID == nil)
        #expect(config.identity.scope == "X-Keybound-Scope")
        #expect(config.identity.claims == [.init(claim: "email", header: "X-Email")])
        #expect(config.nonces?.secrets.count == 2 && config.nonces?.windowSeconds == 120)
        #expect(config.nonces?.secrets.first == Array(String(repeating: "s", count: 40).utf8))
        #expect(config.replayCapacity == 4096)
        #expect(config.replayKeyShare == nil && config.policy.effectiveReplayKeyShare == 512)
    }

    @Test func replayKeyShare() throws {
        defer { folder.remove() }
        let config = try parse(replacing("capacity = 4096", with: "capacity = 4096\nkey_share = 100"))
        #expect(config.replayKeyShare == 100 && config.policy.effectiveReplayKeyShare == 100)
        let off = try parse(replacing("capacity = 4096", with: "capacity = 4096\nkey_share = 0"))
        #expect(off.policy.effectiveReplayKeyShare == 0)
    }

    @Test func refusesEachProblemWithItsLocation() {
        defer { folder.remove() }
        let cases: [(String, String)] = [
            (replacing("listen = ", with: "lisen = "), "lisen: unknown key"),
            (replacing("127.0.0.1:9180", with: "127.0.0.1"), "listen: must be HOST:PORT or [IPv6]:PORT"),
            (replacing("jwks_file = \"jwks.json\"", with: "jwks_file = \"missing.json\""), "issuers[0].jwks_file: cannot read"),
            (replacing("jwks_file = \"jwks.json\"", with: "jwks_file = \"secret\""), "issuers[0].jwks_file: \(folder.path)/secret: invalid_jwks"),
            (replacing("discovery = \"openid\"", with: "discovery = \"openid\"\njwks_uri = \"https://x/j\""),
             "issuers[1]: give exactly one of discovery, jwks_uri and jwks_file"),
            (replacing("discovery = \"openid\"", with: "discovery = \"oidc\""), "issuers[1].discovery: must be \"openid\" or \"oauth\""),
            (replacing("discovery = \"openid\"", with: "jwks_uri = \"http://keys.example/j\""), "issuers[1]: insecure_url"),
            (replacing("\"https://remote.example\"", with: "\"https://issuer.example\""),
             "issuers[1].issuer: https://issuer.example is configured twice"),
            (replacing("prefix = \"/orders\"", with: "prefix = \"orders\""), "routes[1].prefix: must start with /"),
            (replacing("max_age = 300", with: "max_age = -1"), "routes[1].max_age: must be in 0...31622400"),
            (replacing("scopes = [\"orders:read\"]", with: "scopes = [\"a b\"]"), "routes[1].scopes: a scope has no spaces"),
            (replacing("style = \"nginx\"", with: "style = \"haproxy\""), "proxies[0].style: must be \"nginx\", \"traefik\" or \"envoy\""),
            (replacing("\"::ffff:10.0.0.1\"", with: "\"proxy.local\""), "proxies[0].addresses[1]: \"proxy.local\" is not an IP address"),
            (replacing("\"10.0.0.2\"", with: "\"127.0.0.1\""), "proxies[1].addresses: 127.0.0.1 belongs to two proxies"),
            (replacing("origin = \"https://api.example\"", with: "origin = \"https://api.example/app\""),
             "proxies[0].origin: must be scheme://host[:port]"),
            (replacing("origin = \"https://api.example\"", with: "origin = \"https://api.example\"\nstrip_prefix = \"/a\""),
             "proxies[0].strip_prefix: applies only to external_base_url"),
            (replacing("origin = \"https://api.example\"", with: ""), "proxies[0]: give origin"),
            (replacing("strip_prefix = \"/app\"", with: "strip_prefix = \"/app/\""),
             "proxies[1].strip_prefix: must start with / and not end with /"),
            (replacing("https://api.example/app\"", with: "https://api.example/app?x\""),
             "proxies[1].external_base_url: must be an http(s) URL"),
            (replacing("subject = \"X-User\"", with: "subject = \"X User\""), "identity_headers.subject: \"X User\" is not a header name"),
            (replacing("subject = \"X-User\"", with: "subject = \"X-Email\""), "identity_headers: the header X-Email is used twice"),
            (replacing("subject = \"X-User\"", with: "subject = \"DPoP-Nonce\""), "identity_headers: the header DPoP-Nonce is reserved"),
            (replacing("secret_files = [\"secret\"]", with: "secret_files = [\"short\"]"),
             "nonces: each nonce secret must be at least 32 bytes"),
            (replacing("window_seconds = 120", with: "window_seconds = 0"), "nonces.window_seconds: must be in 1...86400"),
            (replacing("capacity = 4096", with: "capacity = \"big\""), "replay.capacity: must be an integer"),
            (replacing("[[routes]]\nprefix = \"/\"\n", with: "[[routes]]\nprefix = \"/orders\"\n"),
             "routes[1].prefix: /orders is configured twice"),
            ("listen = \"127.0.0.1:1\"\n[[issuers]\n", "line 2, column"),
            ("listen = \"127.0.0.1:1\"\n", "issuers: at least one [[issuers]] is required"),
            (replacing("127.0.0.1:9180", with: "127.0.0.1:0"), "listen: must be HOST:PORT with a port in 1...65535"),
        ]
        expectProblems(cases)
    }

    @Test func logSettings() throws {
        defer { folder.remove() }
        let config = try parse(log("format = \"json\"\nlevel = \"debug\""))
        #expect(config.logFormat == .json && config.logLevel == .debug)
        let plain = try parse(validConfiguration)
        #expect(plain.logFormat == .text && plain.logLevel == .info && plain.redis == nil)
    }

    /// The configuration with `[log]` holding `settings`.
    func log(_ settings: String) -> String { replacing("[replay]", with: "[log]\n" + settings + "\n[replay]") }

    @Test func replayStoreAndLogProblems() {
        defer { folder.remove() }
        expectProblems([
            (replacing("store = \"memory\"", with: "store = \"disk\""), "replay.store: must be \"memory\" or \"redis\""),
            (replacing("capacity = 4096", with: "capacity = 4096\nurl = \"redis://r:6379\""),
             "replay.url: applies only to store = \"redis\""),
            (replacing("capacity = 4096", with: "capacity = 4096\nkey_share = 4097"),
             "replay.key_share: must be in 0...4096"),
            (replacing("capacity = 4096", with: "capacity = 4096\nkey_share = -1"), "replay.key_share: must be in 0...4096"),
            (log("format = \"xml\""), "log.format: must be \"text\" or \"json\""),
            (log("level = \"loud\""), "log.level: must be trace, debug"),
            (log("colour = 1"), "log.colour: unknown key"),
        ])
    }

    /// `[replay]` with `store = "redis"`, and each of its problems.
    func redis(_ settings: String) -> String {
        replacing("store = \"memory\"", with: "store = \"redis\"\n" + settings)
    }

    #if Redis
    @Test func redisStore() throws {
        defer { folder.remove() }
        let config = try parse(
            redis("url = \"redis://10.0.0.5:6380/2\"\npassword_env = \"REDIS_PASSWORD\"\nkey_prefix = \"serve:\"\n"
                + "pool_size = 4\ncommand_timeout_ms = 50\nconnect_timeout_ms = 70"),
            environment: ["NONCE_SECRET": String(repeating: "e", count: 32), "REDIS_PASSWORD": "pw"])
        let redis = try #require(config.redis)
        #expect(redis.address == .tcp(host: "10.0.0.5", port: 6380) && redis.database == 2)
        #expect(redis.password == "pw" && redis.keyPrefix == "serve:" && redis.poolSize == 4)
        #expect(redis.commandTimeoutMilliseconds == 50 && redis.connectTimeoutMilliseconds == 70)
        #expect(redis.acceptanceWindowSeconds == 65)
        #expect(config.replayCapacity == 4096)
        #expect(redis.keyShare == 0, "off in Redis unless asked for")
        // key_share applies fleet-wide in Redis too; the URL's key_share is the other way to say it.
        let shared = try parse(self.redis("url = \"redis://10.0.0.5:6380/2\"\nkey_share = 100"))
        #expect(shared.redis?.keyShare == 100 && shared.policy.effectiveReplayKeyShare == 100)
        let byURL = try parse(self.redis("url = \"redis://10.0.0.5:6380/2?key_share=7\""))
        #expect(byURL.redis?.keyShare == 7)
    }

    @Test func redisProblems() {
        defer { folder.remove() }
        let cases: [(String, String)] = [
            (redis(""), "replay.url: is required"),
            (redis("url = \"http://r\""), "replay.url: replay store URL:"),
            (redis("url = \"redis://:pw@r:6379/0\""), "replay.url: holds a password"),
            (redis("url = \"redis://r\"\npassword_env = \"NOPE\""), "replay.password_env: the environment variable NOPE is not set"),
            (redis("url = \"redis://r\"\npool_size = 0"), "replay.pool_size: must be in 1...1024"),
            (redis("url = \"redis://r\"\ncommand_timeout_ms = 0"), "replay.command_timeout_ms: must be in 1...60000"),
            (redis("url = \"redis://r\"\nkey_prefix = \"\""), "replay: keyPrefix must be 1...256 bytes"),
            (redis("url = \"redis://r\"\nhost = \"r\""), "replay.host: unknown key"),
        ]
        expectProblems(cases)
    }
    #else
    @Test func redisNeedsTheTrait() {
        defer { folder.remove() }
        let message = problem(redis("url = \"redis://r\""), environment: ["NONCE_SECRET": String(repeating: "e", count: 32)])
        #expect(message?.hasPrefix("replay.store: \"redis\" needs keybound-serve built with the Redis trait") == true)
    }
    #endif

    @Test func aMissingEnvironmentSecretIsNamed() {
        defer { folder.remove() }
        #expect(problem(validConfiguration) == "nonces.secret_env: the environment variable NONCE_SECRET is not set")
    }
}
